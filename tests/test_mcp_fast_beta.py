"""The MCP fast path against the SDK path on the beta-only features: an adapter's declared ``ttlMs`` and
``cacheScope`` on every 2026-07-28 cacheable result, and binary results (an image content block, a blob
resource). The corpus of ``test_mcp_fast`` is about the
protocol; this one serves an Ikanos capability and compares the two paths on what it declares."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file

from .support import run_asgi
from .test_mcp import Upstream
from .test_mcp_fast import MODERN, Case, _legacy, _modern, _send, serve_path

CAPABILITY = """\
ikanos: 1.0.0-beta5
info:
  display: Hints
  description: Declared cache hints
capability:
  consumes:
    - namespace: api
      type: http
      baseUri: http://upstream.invalid
      resources:
        items:
          path: /items/{{id}}
          operations:
            get-item:
              method: GET
              inputParameters:
                id:
                  in: path
        raw:
          path: /raw/{{id}}
          operations:
            get-raw:
              method: GET
              outputRawFormat: binary
              outputMediaType: image/png
              inputParameters:
                id:
                  in: path
  exposes:
    - type: mcp
      namespace: hints
      port: 9000
      ttlMs: 2500
      cacheScope: public
      tools:
        get-item:
          description: One item
          inputParameters:
            id:
              type: string
          call: api.get-item
        get-raw:
          description: An item's bytes
          inputParameters:
            id:
              type: string
          call: api.get-raw
      resources:
        item:
          uri: data://items/{id}
          description: One item
          call: api.get-item
        first:
          uri: data://first
          description: The first item
          call: api.get-item
          with:
            id: first
        raw:
          uri: data://raw/{id}
          description: An item's bytes
          binary: true
          call: api.get-raw
"""

CACHEABLE = ("server/discover", "tools/list", "resources/list", "resources/templates/list")


def corpus() -> Iterator[Case]:
    for method in CACHEABLE:
        yield _modern(method)
    for uri in ("data://first", "data://items/A7", "data://nope", "data://raw/A7"):
        yield _modern("resources/read", {"uri": uri}, name=uri, label=f"resources/read {uri}")
    yield _modern("tools/call", {"name": "get-item", "arguments": {"id": "B2"}}, name="get-item")
    yield _modern(
        "tools/call",
        {"name": "get-raw", "arguments": {"id": "B2"}},
        name="get-raw",
        label="tools/call binary",
    )
    for method in ("tools/list", "resources/list"):
        yield _legacy("2025-11-25", method, {})
    yield _legacy("2025-11-25", "resources/read", {"uri": "data://first"}, label="resources/read")
    yield _legacy("2025-11-25", "resources/read", {"uri": "data://raw/C3"}, label="resources/read binary")
    call = {"name": "get-raw", "arguments": {"id": "C3"}}
    yield _legacy("2025-11-25", "tools/call", call, label="tools/call binary")


CASES = list(corpus())


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    path = tmp_path_factory.mktemp("beta") / "capability.yaml"
    path.write_text(CAPABILITY, encoding="utf-8")
    document: m.NaftikoDocument = load_file(path).require()
    with (
        run_asgi(Upstream()) as up,
        serve_path(document, up, fast=True) as (fast, _),
        serve_path(document, up, fast=False) as (sdk, _),
    ):
        yield fast, sdk


def _answers(url: str) -> dict[str, tuple[int, Any]]:
    with httpx.Client(timeout=10) as client:
        return {case.name: _send(client, url, case) for case in CASES}


def test_fast_and_sdk_paths_agree_on_the_declared_features(both: tuple[str, str]) -> None:
    fast, sdk = both
    got, want = _answers(fast), _answers(sdk)
    assert [name for name in got if got[name] != want[name]] == [], {
        name: (got[name], want[name]) for name in got if got[name] != want[name]
    }


def test_declared_hints_are_on_every_cacheable_result_and_nowhere_else(both: tuple[str, str]) -> None:
    answers = _answers(both[0])
    hints = {
        name: (body["result"].get("ttlMs"), body["result"].get("cacheScope"))
        for name, (status, body) in answers.items()
        if status == 200 and "result" in body
    }
    cacheable = [n for n in hints if n.startswith(MODERN) and "tools/call" not in n]
    assert len(cacheable) == len(CACHEABLE) + 3  # the three resources that exist
    assert {hints[n] for n in cacheable} == {(2500, "public")}
    assert hints[f"{MODERN} tools/call"] == hints[f"{MODERN} tools/call binary"] == (None, None)
    assert {hints[n] for n in hints if not n.startswith(MODERN)} == {(None, None)}
    status, body = answers[f"{MODERN} resources/read data://nope"]
    assert "error" in body and "Resource not found" in body["error"]["message"], (status, body)


def test_undeclared_hints_default_per_method(tmp_path: Path) -> None:
    path = tmp_path / "capability.yaml"
    path.write_text(CAPABILITY.replace("      ttlMs: 2500\n      cacheScope: public\n", ""), encoding="utf-8")
    document = load_file(path).require()
    with run_asgi(Upstream()) as up, serve_path(document, up, fast=True) as (url, _):
        answers = _answers(url)
    hint = {
        n: (b["result"]["ttlMs"], b["result"]["cacheScope"])
        for n, (_, b) in answers.items()
        if "result" in b and "ttlMs" in b["result"]
    }
    assert hint[f"{MODERN} tools/list"] == (60_000, "public")
    assert hint[f"{MODERN} server/discover"] == (0, "private")
    assert hint[f"{MODERN} resources/read data://first"] == (0, "private")


def test_binary_results_are_base64_content_on_both_paths(both: tuple[str, str]) -> None:
    for url in both:
        answers = _answers(url)
        _, call = answers[f"{MODERN} tools/call binary"]
        (block,) = call["result"]["content"]
        assert block["type"] == "image" and block["mimeType"] == "image/png"
        assert b"/raw/B2" in base64.b64decode(block["data"])  # the echo upstream's answer, as bytes
        _, read = answers[f"{MODERN} resources/read data://raw/A7"]
        (contents,) = read["result"]["contents"]
        assert contents["mimeType"] == "image/png" and set(contents) == {"uri", "mimeType", "blob"}
        assert b"/raw/A7" in base64.b64decode(contents["blob"])
