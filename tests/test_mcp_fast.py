"""The MCP fast path against the SDK path: one corpus of raw HTTP requests (every method the fast path
serves, in every protocol revision, valid and invalid) sent to the same capability served twice, once
with the fast path and once with every request going to the SDK (``fast=False``); the HTTP statuses and
the JSON-RPC answers must be equal.

Where the SDK is wrong per the specification, the fast path answers differently on purpose; each such
case is named in :data:`SDK_DEVIATIONS` (and in the README), with what each path answers.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from naftiko_runtime.exposes.mcp.transport import build_mcp_app
from naftiko_runtime.server.assemble import build_runtime, capability
from naftiko_runtime.spec import model as m

from .conftest import serve_app
from .support import run_asgi
from .test_mcp import MCP_HEADERS, Upstream, mcp_adapter, write_capability

MODERN = "2026-07-28"
LEGACY = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "corpus", "version": "1.0"},
}

#: case name -> (what the SDK answers, what the fast path answers, why the SDK is wrong); none so far
SDK_DEVIATIONS: dict[str, tuple[str, str, str]] = {}


@dataclass
class Case:
    name: str
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    method: str = "POST"
    raw: bytes | None = None


def _legacy(version: str | None, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Case:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": kw.pop("id", 7), "method": method}
    if params is not None:
        body["params"] = params
    headers = [(k, v) for k, v in MCP_HEADERS.items()]
    if version is not None:
        headers.append(("MCP-Protocol-Version", version))
    return Case(f"{version or 'no-version'} {kw.pop('label', method)}", body, headers + kw.pop("extra", []))


def _modern(method: str, params: dict[str, Any] | None = None, *, name: str | None = None, **kw: Any) -> Case:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": kw.pop("id", "m-1"), "method": method}
    body["params"] = {**(params or {}), "_meta": kw.pop("meta", META)}
    headers = [
        *MCP_HEADERS.items(),
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", kw.pop("mcp_method", method)),
    ]
    if name is not None:
        headers.append(("Mcp-Name", name))
    return Case(f"{MODERN} {kw.pop('label', method)}", body, headers + kw.pop("extra", []))


INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "corpus", "version": "1"}}
CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("mock", "hello", {"who": "Ada"}),
    ("upstream", "get-item", {"id": "A7", "limit": 3}),
    ("declared", "search-items", {"q": "boats", "tags": ["a", "b"], "order": "asc"}),
    ("upstream status", "search-items", {"q": "x", "x-echo-status": 404}),
    ("missing argument", "hello", {}),
    ("wrong type", "get-item", {"id": "A7", "limit": "three"}),
    ("extra argument", "hello", {"who": "Ada", "nope": 1}),
    ("enum", "search-items", {"q": "x", "order": "sideways"}),
    ("integer as float", "get-item", {"id": "A7", "limit": 3.0}),
    ("null arguments", "hello", None),
    ("unknown tool", "no-such-tool", {}),
    ("result not an object", "echo-list", {"items": [1, 2]}),
]
READS = [
    ("static file", "docs://guide/intro.md"),
    ("templated", "data://items/B2"),
    ("missing", "docs://nope"),
]
PROMPTS = [("filled", "summarize", {"data": "x", "style": "y"}), ("missing argument", "summarize", {})]
PROMPTS += [("unknown", "nope", {}), ("from a file", "from-file", {"who": "Ada"})]


def corpus() -> Iterator[Case]:
    for version in (None, *LEGACY):
        yield _legacy(version, "initialize", INIT)
        yield _legacy(
            version, "initialize", {**INIT, "protocolVersion": "1999-01-01"}, label="initialize unknown"
        )
        yield Case(
            f"{version} initialized",
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            _legacy(version, "x").headers,
        )
        for method in ("ping", "tools/list", "resources/list", "resources/templates/list", "prompts/list"):
            yield _legacy(version, method, {})
        yield _legacy(version, "tools/list", None, label="tools/list without params", id="s-1")
        yield _legacy(version, "server/discover", {})
        for label, tool, args in CALLS:
            params = {"name": tool} | ({"arguments": args} if args is not None else {})
            yield _legacy(version, "tools/call", params, label=f"tools/call {label}")
        for label, uri in READS:
            yield _legacy(version, "resources/read", {"uri": uri}, label=f"resources/read {label}")
        for label, prompt, args in PROMPTS:
            yield _legacy(
                version, "prompts/get", {"name": prompt, "arguments": args}, label=f"prompts/get {label}"
            )
        yield _legacy(version, "nope/nothing", {}, label="unknown method")
        yield _legacy(version, "tools/call", {"name": 5}, label="tools/call name not a string")
        yield _legacy(
            version, "tools/call", {"name": "hello", "arguments": [1]}, label="tools/call arguments array"
        )
        yield _legacy(
            version,
            "tools/call",
            {"name": "hello", "arguments": {"who": "x"}, "_meta": {"progressToken": 3}},
            label="tools/call with a progress token",
        )
    yield _modern("server/discover")
    for method in ("tools/list", "resources/list", "resources/templates/list", "prompts/list"):
        yield _modern(method)
    yield _modern("ping")
    yield _modern("initialize", INIT)
    for label, tool, args in CALLS:
        params = {"name": tool} | ({"arguments": args} if args is not None else {})
        yield _modern("tools/call", params, name=tool, label=f"tools/call {label}")
    for label, uri in READS:
        yield _modern("resources/read", {"uri": uri}, name=uri, label=f"resources/read {label}")
    for label, prompt, args in PROMPTS:
        yield _modern(
            "prompts/get", {"name": prompt, "arguments": args}, name=prompt, label=f"prompts/get {label}"
        )
    yield _modern("nope/nothing", label="unknown method")
    call = {"name": "hello", "arguments": {"who": "Ada"}}
    yield _modern("tools/call", call, name="other", label="Mcp-Name mismatch")
    yield _modern("tools/call", call, label="Mcp-Name missing")
    yield _modern("tools/call", call, name="=?base64?aGVsbG8=?=", label="Mcp-Name base64")
    yield _modern("tools/call", call, name="=?base64?aGVsbG8?=", label="Mcp-Name bad base64")
    yield _modern("tools/call", call, name="hello", mcp_method="tools/list", label="Mcp-Method mismatch")
    yield _modern(
        "tools/call", call, name="hello", extra=[("Mcp-Method", "tools/call")], label="Mcp-Method twice"
    )
    yield _modern("tools/call", call, name="hello", meta={}, label="_meta empty")
    yield _modern("tools/call", call, name="hello", meta="x", label="_meta not an object")
    yield _modern(
        "tools/call",
        call,
        name="hello",
        meta={**META, "io.modelcontextprotocol/protocolVersion": "2025-11-25"},
        label="_meta version differs from the header",
    )
    no_caps = {k: v for k, v in META.items() if "Capabilities" not in k}
    yield _modern("tools/call", call, name="hello", meta=no_caps, label="_meta without capabilities")
    yield _modern(
        "tools/call",
        call,
        name="hello",
        meta={**META, "io.modelcontextprotocol/clientInfo": 5},
        label="_meta clientInfo not an object",
    )
    yield _modern(
        "tools/call", call, name="hello", extra=[("Mcp-Param-Who", "Ada")], label="Mcp-Param header"
    )
    yield Case(
        f"{MODERN} notification",
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        _modern("x").headers,
    )
    base = dict(_modern("tools/call", call, name="hello").__dict__)
    yield Case(
        "unsupported version header",
        base["body"],
        [*MCP_HEADERS.items(), ("MCP-Protocol-Version", "2099-01-01")],
    )
    yield Case(
        "malformed version header", base["body"], [*MCP_HEADERS.items(), ("MCP-Protocol-Version", "banana")]
    )
    # transport-level rejections, in each era
    for label in ("legacy", "modern"):
        good = _legacy("2025-11-25", "tools/list", {}) if label == "legacy" else _modern("tools/list")
        others = [(k, v) for k, v in good.headers if k.lower() not in ("content-type", "accept")]
        yield Case(
            f"{label} text/plain body",
            good.body,
            [*others, ("Accept", "application/json"), ("Content-Type", "text/plain")],
        )
        yield Case(f"{label} no content type", good.body, [*others, ("Accept", "application/json")])
        yield Case(
            f"{label} json-ish content type",
            good.body,
            [*others, ("Accept", "application/json"), ("Content-Type", "application/jsonl")],
        )
        yield Case(
            f"{label} charset content type",
            good.body,
            [*others, ("Accept", "*/*"), ("Content-Type", "application/json; charset=utf-8")],
        )
        yield Case(
            f"{label} accepts only SSE",
            good.body,
            [*others, ("Content-Type", "application/json"), ("Accept", "text/event-stream")],
        )
        yield Case(f"{label} no accept", good.body, [*others, ("Content-Type", "application/json")])
        yield Case(f"{label} evil origin", good.body, [*good.headers, ("Origin", "https://evil.example.com")])
        yield Case(
            f"{label} loopback origin", good.body, [*good.headers, ("Origin", "http://localhost:3000")]
        )
        yield Case(f"{label} evil host", good.body, [*good.headers, ("Host", "evil.example.com")])
        yield Case(f"{label} bad JSON", None, good.headers, raw=b'{"jsonrpc": "2.0", "id": 1,')
        yield Case(f"{label} not UTF-8", None, good.headers, raw=b'{"jsonrpc":"2.0","id":1,"method":"\xff"}')
        yield Case(f"{label} batch", [good.body, good.body], good.headers)
        yield Case(f"{label} empty batch", [], good.headers)
        yield Case(f"{label} JSON string", "tools/list", good.headers)
        yield Case(f"{label} response posted", {"jsonrpc": "2.0", "id": 1, "result": {}}, good.headers)
        for ident in (None, 1.5, True, [1], 2**70):
            yield Case(f"{label} id {ident!r}", {**good.body, "id": ident}, good.headers)
        yield Case(f"{label} jsonrpc 1.0", {**good.body, "jsonrpc": "1.0"}, good.headers)
        yield Case(f"{label} extra member", {**good.body, "extra": 1}, good.headers)
        yield Case(f"{label} params array", {**good.body, "params": []}, good.headers)
        yield Case(f"{label} method not a string", {**good.body, "method": 3}, good.headers)
        yield Case(f"{label} oversized", None, good.headers, raw=b" " * (4 * 1024 * 1024 + 1))
        yield Case(f"{label} DELETE", None, good.headers, method="DELETE")
        yield Case(f"{label} PUT", good.body, good.headers, method="PUT")


CASES = list(corpus())


def _send(client: httpx.Client, url: str, case: Case) -> tuple[int, Any]:
    content = (
        case.raw
        if case.raw is not None
        else (json.dumps(case.body).encode() if case.body is not None else None)
    )
    response = client.request(case.method, url, headers=case.headers, content=content)
    text = response.text
    try:
        return response.status_code, json.loads(text)
    except ValueError:
        return response.status_code, text


@contextlib.contextmanager
def serve_path(document: m.NaftikoDocument, upstream: str, *, fast: bool) -> Iterator[tuple[str, Any]]:
    """The document's MCP adapter on loopback, with the fast path on or off; yield its URL and app."""
    runtime = build_runtime(capability(document.file, document, {}, {"api": upstream}))
    app = build_mcp_app(mcp_adapter(document), runtime, host="127.0.0.1", port=0, fast=fast)
    with serve_app(app, runtime) as url:
        yield url + "/mcp", app


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    document = write_capability(tmp_path_factory.mktemp("inline"))
    upstream = Upstream()
    with (
        run_asgi(upstream) as up,
        serve_path(document, up, fast=True) as (fast, _),
        serve_path(document, up, fast=False) as (sdk, _),
    ):
        yield fast, sdk


def test_the_corpus_covers_every_method_and_revision() -> None:
    methods = {c.body.get("method") for c in CASES if isinstance(c.body, dict)}
    assert {
        "initialize",
        "ping",
        "server/discover",
        "tools/list",
        "tools/call",
        "resources/read",
        "prompts/get",
    } <= methods
    versions = {v for c in CASES for k, v in c.headers if k == "MCP-Protocol-Version"}
    assert {*LEGACY, MODERN} <= versions
    assert len(CASES) > 250


def test_fast_and_sdk_paths_answer_the_whole_corpus_alike(both: tuple[str, str]) -> None:
    fast, sdk = both
    differences = []
    with httpx.Client(timeout=10) as client:
        for case in CASES:
            got, want = _send(client, fast, case), _send(client, sdk, case)
            if case.name in SDK_DEVIATIONS:
                assert got != want, f"{case.name}: listed as an SDK deviation but both paths agree"
                continue
            if got != want:
                differences.append(f"{case.name}:\n  fast {got}\n  sdk  {want}")
    assert not differences, f"{len(differences)} of {len(CASES)} differ:\n" + "\n".join(differences)


#: cases the SDK answers (the fast path hands them over, body and all): forms it does not serve
LEFT_TO_THE_SDK = (
    "unknown method",
    "server/discover",  # not a method of the handshake revisions
    f"{MODERN} ping",
    f"{MODERN} initialize",
    "name not a string",
    "arguments array",
    "clientInfo not an object",
    "Mcp-Param header",
    "version header",
    "legacy json-ish content type",  # not exactly application/json: 415 from the legacy transport
    "bad JSON",
    "not UTF-8",
    "batch",
    "JSON string",
    "response posted",
    " id ",
    "jsonrpc 1.0",
    "extra member",
    "params array",
    "method not a string",
    "DELETE",
    "PUT",
)


def _left_to_the_sdk(case: Case) -> bool:
    return any(part in case.name for part in LEFT_TO_THE_SDK) and not case.name.startswith(
        f"{MODERN} server/"
    )


def test_everything_else_is_answered_without_the_sdk(tmp_path: Path) -> None:
    """Every revision's valid requests and the common rejections never start the SDK; the forms the fast
    path leaves to it each do, one request each."""
    doc = write_capability(tmp_path)
    with run_asgi(Upstream()) as up, serve_path(doc, up, fast=True) as (url, app):
        endpoint = app.endpoint
        with httpx.Client(timeout=10) as client:
            served = [c for c in CASES if not _left_to_the_sdk(c)]
            for case in served:
                _send(client, url, case)
            assert endpoint.delegated == 0
            answered_here = []
            for case in (c for c in CASES if _left_to_the_sdk(c)):
                before = endpoint.delegated
                _send(client, url, case)
                if endpoint.delegated != before + 1:
                    answered_here.append(case.name)
            assert answered_here == []
    assert len(served) > 190


def test_serving_mcp_over_http_imports_no_sdk_module(tmp_path: Path) -> None:
    """Building and answering the fast path loads neither the SDK nor its wire types."""
    doc_path = tmp_path / "capability.yaml"
    write_capability(tmp_path)
    script = f"""
import json, sys, anyio, httpx
from naftiko_runtime.engine import Runtime
from naftiko_runtime.exposes import ADAPTERS
from naftiko_runtime.spec.loader import load_file
doc = load_file({str(doc_path)!r}).require()
adapter = next(a for a in doc.capability.exposes if a.type == "mcp")
app = ADAPTERS["mcp"].build(adapter, Runtime(doc), host="127.0.0.1", port=0)
async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        body = {{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {{"name": "hello", "arguments": {{"who": "A"}}}}}}
        r = await client.post("/mcp", json=body, headers={{"Accept": "application/json"}})
        assert r.json()["result"]["structuredContent"] == {{"greeting": "Hello, A!", "source": "mock"}}, r.text
anyio.run(main)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("mcp", "mcp_types", "pydantic"))))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [m for m in json.loads(out.stdout) if m.split(".")[0] in ("mcp", "mcp_types")] == []
