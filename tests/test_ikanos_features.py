"""Beta-only features with an effect: ``info.version`` (server info, OpenAPI), ``tags`` (OpenAPI tags, MCP tool
metadata) and MCP ``ttlMs``/``cacheScope`` (the freshness hints of 2026-07-28 list results)."""

from __future__ import annotations

import asyncio

import httpx
from mcp import Client
from mcp import types as mt

from naftiko_runtime.spec.loader import load_text

from .conftest import ServeAdapter

CAPABILITY = """\
ikanos: 1.0.0-beta5
info:
  display: Tagged
  description: Tags and a version
  version: 2.4.1
capability:
  consumes:
    - namespace: api
      type: http
      baseUri: https://api.example.com
      resources:
        items:
          path: /items
          operations:
            list-items:
              method: GET
              tags: [upstream]
  exposes:
    - type: rest
      namespace: web
      port: 9000
      resources:
        items:
          path: /items
          tags: [catalog]
          operations:
            list-items:
              method: GET
              tags: [read, catalog]
              call: api.list-items
    - type: mcp
      namespace: tools
      port: 9001
      ttlMs: 5000
      cacheScope: private
      tools:
        list-items:
          description: All items
          tags: [read]
          call: api.list-items
"""


def test_the_capability_is_valid_beta5() -> None:
    result = load_text(CAPABILITY, "cap.yaml")
    assert result.ok and not result.findings, [f.format() for f in result.findings]


def test_openapi_carries_the_version_and_the_tags(serve_adapter: ServeAdapter) -> None:
    doc = load_text(CAPABILITY, "cap.yaml").require()
    with serve_adapter(doc, {}, {"api": "http://127.0.0.1:9"}, kind="rest") as url:
        spec = httpx.get(url.rstrip("/") + "/openapi.json", timeout=10).json()
    assert spec["info"]["version"] == "2.4.1"
    assert spec["paths"]["/items"]["get"]["tags"] == ["items", "catalog", "read"]


def test_mcp_server_info_and_tool_metadata(serve_adapter: ServeAdapter) -> None:
    doc = load_text(CAPABILITY, "cap.yaml").require()

    async def go(url: str) -> tuple[str, mt.ListToolsResult]:
        async with Client(url) as client:
            assert client.protocol_version == "2026-07-28"
            info = client.server_info
            assert info is not None
            return info.version, await client.list_tools()

    with serve_adapter(doc, {}, {"api": "http://127.0.0.1:9"}, kind="mcp") as url:
        version, listed = asyncio.run(go(url))
    assert version == "2.4.1"
    assert listed.tools[0].meta == {"tags": ["read"]}
    assert (listed.ttl_ms, listed.cache_scope) == (5000, "private")


def test_a_negative_ttl_is_refused_at_its_place() -> None:
    found = [
        f.format() for f in load_text(CAPABILITY.replace("ttlMs: 5000", "ttlMs: -1"), "cap.yaml").errors()
    ]
    assert found == [
        "cap.yaml:34:14  $.capability.exposes[1].ttlMs  error: ttlMs must not be negative, got -1"
    ]
