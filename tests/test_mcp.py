"""The MCP exposer over real sockets, driven by the ``mcp`` SDK's own client in both protocol eras."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from mcp import Client, MCPError
from mcp import types as mt
from starlette.types import Receive, Scope, Send

from naftiko_runtime import __version__
from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.engine import Runtime
from naftiko_runtime.errors import ConfigError
from naftiko_runtime.exposes.mcp.server import build_server
from naftiko_runtime.exposes.mcp.transport import build_mcp_app
from naftiko_runtime.server.assemble import build_runtime
from naftiko_runtime.server.assemble import capability as assemble_capability
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file

from .conftest import ServeAdapter, serve_app
from .support import CONFORMANCE, free_port, requires_shared, run_asgi, write_seed
from .upstreams import echo_app

T = TypeVar("T")
MODES = {"legacy": "2025-11-25", "auto": "2026-07-28"}
SEED_KEY = "sk-seed-7d1e0c44b9"
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def run(fn: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(fn)


@dataclass
class Upstream:
    """The echo upstream, counting requests; a path segment ``missing``/``broken``/``slow`` misbehaves."""

    requests: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await echo_app()(scope, receive, send)
            return
        raw = scope["raw_path"].decode("latin-1")
        self.requests.append(f"{scope['method']} {raw}")
        segments = raw.split("/")
        if "missing" in segments or "broken" in segments:
            status, body = (404, b'{"error":"run not found"}') if "missing" in segments else (500, b"")
            if "broken" in segments:
                auth = dict(scope["headers"]).get(b"authorization", b"").decode()
                body = f"database exploded while serving {auth}".encode()
            kind = b"application/json" if status == 404 else b"text/plain"
            await send(
                {"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        if "slow" in segments:  # longer than the runtime's timeout: the runtime hangs up first
            await asyncio.sleep(1.0)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        await echo_app()(scope, receive, send)


def mcp_adapter(doc: m.NaftikoDocument) -> m.ExposesMcp:
    assert doc.capability is not None
    return next(a for a in doc.capability.exposes if isinstance(a, m.ExposesMcp))


@contextlib.contextmanager
def serve_mcp(
    serve_adapter: ServeAdapter,
    doc: m.NaftikoDocument,
    env: dict[str, str],
    upstreams: dict[str, str],
    *,
    total: float = 5.0,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[str]:
    """Serve the document's MCP adapter on loopback (``host``/``port`` are what the app is told it binds);
    yield the ``/mcp`` URL."""
    timeouts = Timeouts(connect=1, total=total)
    with serve_adapter(doc, env, upstreams, kind="mcp", timeouts=timeouts, host=host, port=port) as url:
        yield url


def dump(model: Any) -> Any:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def text_of(result: mt.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, mt.TextContent)
    return block.text


# --- the seed capability -------------------------------------------------------------------------------

SEED_INPUTS = {
    "trigger-workflow": {
        "type": "object",
        "properties": {"eventKey": {"type": "string"}, "body": {"type": "object"}},
        "required": ["eventKey", "body"],
    },
    "discover-functions": {"type": "object", "properties": {}},
    "get-canonical-run": {
        "type": "object",
        "properties": {"runId": {"type": "string"}},
        "required": ["runId"],
    },
    "get-run-trace": {"type": "object", "properties": {"runId": {"type": "string"}}, "required": ["runId"]},
    "cancel-workflow": {"type": "object", "properties": {"runId": {"type": "string"}}, "required": ["runId"]},
}
SEED_ANNOTATIONS = {
    "trigger-workflow": {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False},
    "discover-functions": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True},
    "get-canonical-run": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True},
    "get-run-trace": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True},
    "cancel-workflow": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False},
}


@pytest.fixture(scope="module")
def seed(
    tmp_path_factory: pytest.TempPathFactory, serve_adapter: ServeAdapter
) -> Iterator[tuple[str, Upstream]]:
    doc = load_file(write_seed(tmp_path_factory.mktemp("seed"))).require()
    upstream = Upstream()
    env = {"INNGEST_SIGNING_KEY": SEED_KEY, "INNGEST_EVENT_KEY": "ek-unused"}
    with (
        run_asgi(upstream) as up,
        serve_mcp(serve_adapter, doc, env, {"inngest-workflow": up}, total=0.4) as url,
    ):
        yield url, upstream


@requires_shared
@pytest.mark.parametrize("mode", MODES)
def test_seed_lists_five_tools_with_hints_and_derived_input_schemas(
    seed: tuple[str, Upstream], mode: str
) -> None:
    async def go() -> None:
        async with Client(seed[0], mode=mode) as client:
            assert client.protocol_version == MODES[mode]
            info = client.server_info
            assert info is not None
            assert (info.name, info.title, info.version) == (
                "inngest-workflow-mcp",
                "Inngest Durable Workflow",
                __version__,
            )
            assert client.instructions == (
                "MCP adapter that exposes durable workflow orchestration tools to coding agents."
            )
            assert client.server_capabilities.resources is None and client.server_capabilities.prompts is None
            tools = {t.name: dump(t) for t in (await client.list_tools()).tools}
        assert list(tools) == list(SEED_INPUTS)
        for name, tool in tools.items():
            assert tool["inputSchema"] == SEED_INPUTS[name], name
            assert tool["annotations"] == SEED_ANNOTATIONS[name], name
            assert tool["outputSchema"] == {"type": "object"}
            assert "title" not in tool

    run(go)


@requires_shared
@pytest.mark.parametrize("mode", MODES)
def test_seed_tools_reach_the_upstream(seed: tuple[str, Upstream], mode: str) -> None:
    calls: dict[str, tuple[dict[str, Any], str, str]] = {
        "trigger-workflow": (
            {"eventKey": "ev/1 2", "body": {"name": "app/signup", "data": {"n": 1}}},
            "POST",
            "/e/ev%2F1%202",
        ),
        "discover-functions": ({}, "GET", "/v1/functions"),
        "get-canonical-run": ({"runId": "01H/X Y"}, "GET", "/v2/runs/01H%2FX%20Y"),
        "get-run-trace": ({"runId": "r1"}, "GET", "/v2/runs/r1/trace"),
        "cancel-workflow": ({"runId": "r1"}, "POST", "/v1/runs/r1/cancel"),
    }

    async def go() -> None:
        async with Client(seed[0], mode=mode) as client:
            for name, (arguments, method, path) in calls.items():
                result = await client.call_tool(name, arguments)
                assert not result.is_error, text_of(result)
                echoed = result.structured_content
                assert isinstance(echoed, dict)
                assert json.loads(text_of(result)) == echoed
                assert (echoed["method"], echoed["path"]) == (method, path), name
                # the echo upstream sent our bearer back: the bound key is masked, and only a known secret is
                assert echoed["headers"]["authorization"] == "Bearer ***"
                assert SEED_KEY not in json.dumps(result.model_dump())
                if name == "trigger-workflow":
                    assert echoed["body"] == {"name": "app/signup", "data": {"n": 1}}
                    assert echoed["headers"]["content-type"] == "application/json"

    run(go)


@requires_shared
@pytest.mark.parametrize("mode", MODES)
def test_seed_invalid_arguments_never_reach_the_upstream(seed: tuple[str, Upstream], mode: str) -> None:
    url, upstream = seed

    async def go() -> None:
        async with Client(url, mode=mode) as client:
            before = len(upstream.requests)
            missing = await client.call_tool("get-canonical-run", {})
            wrong = await client.call_tool("trigger-workflow", {"eventKey": 7, "body": {}})
            assert len(upstream.requests) == before
        assert missing.is_error and wrong.is_error
        assert text_of(missing) == "Invalid arguments for get-canonical-run: 'runId' is a required property"
        assert (
            text_of(wrong)
            == "Invalid arguments for trigger-workflow: argument 'eventKey': 7 is not of type 'string'"
        )
        # the same problem document a REST caller gets, naming the argument and where it is
        error = missing.structured_content["error"]  # type: ignore[index]
        assert (error["status"], error["type"]) == (400, "urn:naftiko:problem:invalid-input")
        assert (error["parameter"], error["in"], error["jsonPath"]) == ("runId", "arguments", "$.runId")
        error = wrong.structured_content["error"]  # type: ignore[index]
        assert (error["parameter"], error["jsonPath"]) == ("eventKey", "$.eventKey")

    run(go)


@requires_shared
@pytest.mark.parametrize("mode", MODES)
def test_seed_upstream_failures_are_tool_errors(seed: tuple[str, Upstream], mode: str) -> None:
    async def go() -> None:
        async with Client(seed[0], mode=mode) as client:
            not_found = await client.call_tool("get-canonical-run", {"runId": "missing"})
            broken = await client.call_tool("get-run-trace", {"runId": "broken"})
            slow = await client.call_tool("get-canonical-run", {"runId": "slow"})
        assert not_found.is_error and broken.is_error and slow.is_error
        assert text_of(not_found) == (
            "get-canonical-run failed: inngest-workflow.getCanonicalRun returned HTTP 404 Not Found: "
            '{"error":"run not found"}'
        )
        assert text_of(broken).startswith(
            "get-run-trace failed: inngest-workflow.getRunTrace returned HTTP 500 Internal Server Error: "
            "database exploded"
        )
        assert SEED_KEY not in text_of(broken)
        assert "did not answer within 0.4 s" in text_of(slow)
        assert text_of(slow).startswith("get-canonical-run failed: inngest-workflow.getCanonicalRun")

    run(go)


# --- inline capabilities -------------------------------------------------------------------------------

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: MCP Test Capability, description: Inline capability for the MCP exposer tests}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.invalid
    resources:
    - name: items
      path: /items/{itemId}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - {name: itemId, in: path, type: string, description: The item id}
        - {name: verbose, in: query, type: boolean, description: Include everything}
        - {name: limit, in: query, type: integer, required: true, description: Page size}
    - name: search
      path: /search
      operations:
      - name: search
        method: GET
        inputParameters:
        - {name: q, in: query}
        - {name: size, in: query}
        - {name: tags, in: query}
        - {name: order, in: query}
        - {name: x-echo-status, in: header}
    - name: echo
      path: /echo/{tail}
      operations:
      - name: post-echo
        method: POST
        inputParameters:
        - {name: payload, in: body, type: array, required: true, description: What to send}
  exposes:
  - type: mcp
    namespace: test-mcp
    port: 9999
    description: Tools for the exposer tests.
    tools:
    - name: get-item
      label: Get Item
      description: Get one item.
      hints: {readOnly: true}
      call: api.get-item
      with: {itemId: tools.id}
      outputParameters:
      - type: object
        properties:
          path: {type: string, mapping: $.path}
          query: {type: string, mapping: $.query}
    - name: search-items
      description: Search with declared inputs.
      hints: {readOnly: true, openWorld: false}
      inputParameters:
      - {name: q, type: string, description: Query text}
      - {name: size, type: integer, description: Page size, required: false, default: 10}
      - {name: tags, type: array, description: Tags, required: false, items: {type: string}}
      - {name: order, type: string, description: Sort order, required: false, enum: [asc, desc]}
      - {name: x-echo-status, type: integer, description: Status the echo answers with, required: false}
      call: api.search
    - name: hello
      description: A mock greeting.
      inputParameters:
      - {name: who, type: string, description: Whom to greet}
      outputParameters:
      - {name: greeting, type: string, value: "Hello, {{who}}!"}
      - {name: source, type: string, value: mock}
    - name: echo-list
      description: Declares an object result but gets an array.
      call: api.post-echo
      with: {tail: list, payload: test-mcp.items}
      outputParameters:
      - {type: object, mapping: $.body}
    - name: echo-first
      description: Declares its first item a string; a number is a result that does not fit.
      call: api.post-echo
      with: {tail: first, payload: test-mcp.items}
      outputParameters:
      - type: object
        properties:
          first: {type: string, mapping: '$.body[0]'}
          missing: {type: string, mapping: $.nothing}
    resources:
    - {name: docs, label: Docs, uri: "docs://guide", description: The guide, location: "file:///./docs"}
    - name: item
      label: Item
      uri: "data://items/{itemId}"
      description: An item by id
      call: api.get-item
      with: {limit: 5}
    - {name: everything, label: Everything, uri: "data://search", description: All items, call: api.search}
    prompts:
    - name: summarize
      label: Summarize
      description: Summarize data
      arguments:
      - {name: data, description: The data}
      - {name: style, description: The style, required: false}
      template:
      - {role: user, content: "Summarize {{data}} as {{style}}. Keep {{unknown}} and {{ data }}."}
      - {role: assistant, content: OK.}
    - name: from-file
      label: From a file
      description: A prompt kept in a file
      arguments: [{name: who, description: Whom to address}]
      location: "file:///./prompts/hello.md"
"""


@pytest.fixture(scope="module")
def capability(tmp_path_factory: pytest.TempPathFactory) -> m.NaftikoDocument:
    return write_capability(tmp_path_factory.mktemp("inline"))


def write_capability(folder: Path) -> m.NaftikoDocument:
    """The inline capability, with its static resources and prompt file, written into ``folder``."""
    (folder / "docs" / "deep").mkdir(parents=True)
    (folder / "docs" / "intro.md").write_text("# Intro\n", encoding="utf-8")
    (folder / "docs" / "deep" / "notes.txt").write_text("deep notes", encoding="utf-8")
    (folder / "docs" / ".hidden").write_text("no", encoding="utf-8")
    (folder / "docs" / "logo.bin").write_bytes(b"\x89PNG\xff\x00")
    (folder / "secret.txt").write_text("top secret", encoding="utf-8")
    (folder / "prompts").mkdir()
    (folder / "prompts" / "hello.md").write_text("Hello {{who}}, see {{elsewhere}}.", encoding="utf-8")
    path = folder / "capability.yaml"
    path.write_text(CAPABILITY, encoding="utf-8")
    result = load_file(path)
    assert result.ok, [f.format() for f in result.findings]
    return result.require()


@pytest.fixture(scope="module")
def inline(capability: m.NaftikoDocument, serve_adapter: ServeAdapter) -> Iterator[tuple[str, Upstream]]:
    upstream = Upstream()
    with run_asgi(upstream) as up, serve_mcp(serve_adapter, capability, {}, {"api": up}) as url:
        yield url, upstream


async def _tools(url: str, mode: str = "auto") -> dict[str, Any]:
    async with Client(url, mode=mode) as client:
        return {t.name: dump(t) for t in (await client.list_tools()).tools}


def test_derived_schema_types_path_and_required_inputs(inline: tuple[str, Upstream]) -> None:
    tool = run(lambda: _tools(inline[0]))["get-item"]
    assert tool["title"] == "Get Item"
    assert tool["annotations"] == {"readOnlyHint": True}
    assert tool["inputSchema"] == {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The item id"},
            "limit": {"type": "integer", "description": "Page size"},
        },
        "required": ["id", "limit"],
    }
    nullable_string = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert tool["outputSchema"] == {
        "type": "object",
        "properties": {"path": nullable_string, "query": nullable_string},
    }


def test_declared_inputs_become_a_closed_schema(inline: tuple[str, Upstream]) -> None:
    tools = run(lambda: _tools(inline[0], "legacy"))
    search = tools["search-items"]
    assert search["inputSchema"] == {
        "type": "object",
        "properties": {
            "q": {"type": "string", "description": "Query text"},
            "size": {"type": "integer", "description": "Page size", "default": 10},
            "tags": {"type": "array", "description": "Tags", "items": {"type": "string"}},
            "order": {"type": "string", "description": "Sort order", "enum": ["asc", "desc"]},
            "x-echo-status": {"type": "integer", "description": "Status the echo answers with"},
        },
        "required": ["q"],
        "additionalProperties": False,
    }
    assert search["annotations"] == {"readOnlyHint": True, "openWorldHint": False}
    assert "outputSchema" not in search  # no outputParameters: whatever the upstream sends
    assert "annotations" not in tools["hello"] and "title" not in tools["hello"]


@pytest.mark.parametrize("mode", MODES)
def test_declared_inputs_are_validated_before_any_call(inline: tuple[str, Upstream], mode: str) -> None:
    url, upstream = inline
    bad: dict[str, tuple[dict[str, Any], str]] = {
        "wrong type": ({"q": "x", "size": "ten"}, "argument 'size': 'ten' is not of type 'integer'"),
        "enum": ({"q": "x", "order": "up"}, "argument 'order': 'up' is not one of ['asc', 'desc']"),
        "items": ({"q": "x", "tags": ["a", 2]}, "argument 'tags[1]': 2 is not of type 'string'"),
        "extra": ({"q": "x", "qq": 1}, "Additional properties are not allowed ('qq' was unexpected)"),
        "missing": ({}, "'q' is a required property"),
    }

    async def go() -> None:
        async with Client(url, mode=mode) as client:
            before = len(upstream.requests)
            for case, (arguments, message) in bad.items():
                result = await client.call_tool("search-items", arguments)
                assert result.is_error, case
                assert text_of(result) == f"Invalid arguments for search-items: {message}", case
            assert len(upstream.requests) == before
            ok = await client.call_tool("search-items", {"q": "a b", "tags": ["x", "y"], "order": "asc"})
        assert not ok.is_error
        assert isinstance(ok.structured_content, dict)
        assert (
            ok.structured_content["query"] == "q=a%20b&size=10&tags=x&tags=y&order=asc"
        )  # size: the default

    run(go)


@pytest.mark.parametrize("mode", MODES)
def test_mock_tool_answers_without_an_upstream(inline: tuple[str, Upstream], mode: str) -> None:
    url, upstream = inline

    async def go() -> None:
        async with Client(url, mode=mode) as client:
            tool = {t.name: dump(t) for t in (await client.list_tools()).tools}["hello"]
            before = len(upstream.requests)
            result = await client.call_tool("hello", {"who": "Ada"})
            assert len(upstream.requests) == before
        assert tool["outputSchema"] == {
            "type": "object",
            "properties": {"greeting": {"type": "string"}, "source": {"type": "string"}},
        }
        assert not result.is_error
        assert result.structured_content == {"greeting": "Hello, Ada!", "source": "mock"}
        assert json.loads(text_of(result)) == result.structured_content

    run(go)


@pytest.mark.parametrize("mode", MODES)
def test_unknown_tool_is_an_invalid_params_error(inline: tuple[str, Upstream], mode: str) -> None:
    async def go() -> None:
        async with Client(inline[0], mode=mode) as client:
            with pytest.raises(MCPError) as caught:
                await client.call_tool("no-such-tool", {})
        assert caught.value.code == mt.INVALID_PARAMS
        assert caught.value.message == "Unknown tool: no-such-tool"

    run(go)


@pytest.mark.parametrize("mode", MODES)
def test_results_without_output_schema_and_error_objects(inline: tuple[str, Upstream], mode: str) -> None:
    async def go() -> None:
        async with Client(inline[0], mode=mode) as client:
            failed = await client.call_tool("search-items", {"q": "x", "x-echo-status": 422})
            mismatch = await client.call_tool("echo-list", {"items": [1, 2]})
            typed = await client.call_tool("echo-first", {"items": ["a", 2]})
            drift = await client.call_tool("echo-first", {"items": [1, 2]})
        assert failed.is_error
        assert text_of(failed).startswith("search-items failed: api.search returned HTTP 422 Unprocessable")
        error = (failed.structured_content or {})["error"]
        assert (error["operation"], error["upstreamStatus"]) == ("api.search", 422)
        assert error["upstreamBody"]["method"] == "GET"  # the upstream's JSON, for an agent to read
        assert mismatch.is_error
        assert text_of(mismatch) == (
            "echo-list: the result is an array, not the object its outputParameters declare: [1,2]"
        )
        # a mapped value keeps its declared type or is null; another type is reported, never passed on
        assert not typed.is_error and typed.structured_content == {"first": "a", "missing": None}
        assert drift.is_error
        assert text_of(drift) == (
            "echo-first: the result does not fit its outputParameters: output 'first': 1 is not of type 'string'"
        )

    run(go)


def test_origin_and_host_are_checked_and_get_is_refused(inline: tuple[str, Upstream]) -> None:
    url = inline[0]
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with httpx.Client(timeout=5) as http:
        assert (
            http.post(url, json=ping, headers={**MCP_HEADERS, "Origin": "http://localhost:3000"}).status_code
            == 200
        )
        evil = http.post(url, json=ping, headers={**MCP_HEADERS, "Origin": "https://evil.example.com"})
        assert evil.status_code == 403
        rebound = http.post(url, json=ping, headers={**MCP_HEADERS, "Host": "evil.example.com:80"})
        assert rebound.status_code == 421
        get = http.get(url, headers={"Accept": "text/event-stream"})
        assert get.status_code == 405 and get.headers["allow"] == "POST"


def test_a_non_loopback_bind_also_allows_its_own_host(
    capability: m.NaftikoDocument, serve_adapter: ServeAdapter
) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with (
        serve_mcp(serve_adapter, capability, {}, {}, host="127.0.0.1", port=0) as url,
        httpx.Client(timeout=5) as http,
    ):
        assert http.post(url, json=ping, headers={**MCP_HEADERS, "Host": "10.9.8.7:7000"}).status_code == 421
    # the exposer's own options: extra Host names and Origins, besides the address it is told it binds
    runtime = build_runtime(assemble_capability(capability.file, capability, {}))
    app = build_mcp_app(
        mcp_adapter(capability),
        runtime,
        host="10.9.8.7",
        port=7000,
        allowed_hosts=["mcp.example.com"],
        allowed_origins=["https://app.example.com"],
    )
    with serve_app(app, runtime) as base, httpx.Client() as http:
        url = base + "/mcp"
        own = {**MCP_HEADERS, "Host": "10.9.8.7:7000", "Origin": "http://10.9.8.7:7000"}
        assert http.post(url, json=ping, headers=own).status_code == 200
        public = {**MCP_HEADERS, "Host": "mcp.example.com", "Origin": "https://app.example.com"}
        assert http.post(url, json=ping, headers=public).status_code == 200
        other = {**MCP_HEADERS, "Host": "10.9.8.7:7001"}
        assert http.post(url, json=ping, headers=other).status_code == 421
        foreign = {**MCP_HEADERS, "Host": "mcp.example.com", "Origin": "https://evil.example.com"}
        assert http.post(url, json=ping, headers=foreign).status_code == 403


@pytest.mark.parametrize("mode", MODES)
def test_resources_static_templated_and_call_backed(inline: tuple[str, Upstream], mode: str) -> None:
    async def go() -> None:
        async with Client(inline[0], mode=mode) as client:
            assert client.server_capabilities.resources is not None
            listed = {str(r.uri): dump(r) for r in (await client.list_resources()).resources}
            templates = [dump(t) for t in (await client.list_resource_templates()).resource_templates]
            intro = (await client.read_resource("docs://guide/intro.md")).contents[0]
            deep = (await client.read_resource("docs://guide/deep/notes.txt")).contents[0]
            logo = (await client.read_resource("docs://guide/logo.bin")).contents[0]
            item = (await client.read_resource("data://items/a%20b")).contents[0]
            everything = (await client.read_resource("data://search")).contents[0]
            refused = []
            for uri in (
                "docs://guide/../secret.txt",
                "docs://guide/.hidden",
                "docs://guide/deep",
                "nope://x",
            ):
                with pytest.raises(MCPError) as caught:
                    await client.read_resource(uri)
                refused.append((caught.value.code, caught.value.message))
        assert sorted(listed) == [
            "data://search",
            "docs://guide/deep/notes.txt",
            "docs://guide/intro.md",
            "docs://guide/logo.bin",
        ]
        assert listed["docs://guide/intro.md"] == {
            "uri": "docs://guide/intro.md",
            "name": "docs/intro.md",
            "title": "Docs",
            "description": "The guide",
            "mimeType": "text/markdown",
        }
        assert listed["data://search"] == {
            "uri": "data://search",
            "name": "everything",
            "title": "Everything",
            "description": "All items",
            "mimeType": "application/json",
        }
        assert templates == [
            {
                "uriTemplate": "data://items/{itemId}",
                "name": "item",
                "title": "Item",
                "description": "An item by id",
                "mimeType": "application/json",
            }
        ]
        assert isinstance(intro, mt.TextResourceContents) and intro.text == "# Intro\n"
        assert isinstance(deep, mt.TextResourceContents) and deep.text == "deep notes"
        assert isinstance(logo, mt.BlobResourceContents) and base64.b64decode(logo.blob) == b"\x89PNG\xff\x00"
        assert isinstance(item, mt.TextResourceContents) and item.mime_type == "application/json"
        echoed = json.loads(item.text)
        assert (echoed["path"], echoed["query"]) == ("/items/a%20b", "limit=5")
        assert (
            isinstance(everything, mt.TextResourceContents)
            and json.loads(everything.text)["path"] == "/search"
        )
        assert refused == [
            (mt.INVALID_PARAMS, f"Resource not found: {u}")
            for u in ("docs://guide/../secret.txt", "docs://guide/.hidden", "docs://guide/deep", "nope://x")
        ]

    run(go)


@pytest.mark.parametrize("mode", MODES)
def test_prompts_fill_arguments_and_enforce_required_ones(inline: tuple[str, Upstream], mode: str) -> None:
    async def go() -> None:
        async with Client(inline[0], mode=mode) as client:
            assert client.server_capabilities.prompts is not None
            prompts = [dump(p) for p in (await client.list_prompts()).prompts]
            got = await client.get_prompt("summarize", {"data": "{{style}}", "style": "bullets"})
            bare = await client.get_prompt("summarize", {"data": "numbers"})
            filed = await client.get_prompt("from-file", {"who": "Ada"})
            with pytest.raises(MCPError) as missing:
                await client.get_prompt("summarize", {"style": "prose"})
            with pytest.raises(MCPError) as unknown:
                await client.get_prompt("nope", {})
        assert prompts[0] == {
            "name": "summarize",
            "title": "Summarize",
            "description": "Summarize data",
            "arguments": [
                {"name": "data", "description": "The data", "required": True},
                {"name": "style", "description": "The style", "required": False},
            ],
        }
        assert [p["name"] for p in prompts] == ["summarize", "from-file"]
        assert [(msg.role, msg.content.text) for msg in filed.messages] == [  # type: ignore[union-attr]
            ("user", "Hello Ada, see {{elsewhere}}.")
        ]
        assert [(msg.role, msg.content.text) for msg in got.messages] == [  # type: ignore[union-attr]
            ("user", "Summarize {{style}} as bullets. Keep {{unknown}} and {{style}}."),
            ("assistant", "OK."),
        ]
        assert bare.messages[0].content.text == "Summarize numbers as . Keep {{unknown}} and numbers."  # type: ignore[union-attr]
        assert (missing.value.code, missing.value.message) == (
            mt.INVALID_PARAMS,
            "Prompt 'summarize' needs argument(s): data",
        )
        assert unknown.value.code == mt.INVALID_PARAMS

    run(go)


def test_capabilities_advertise_only_what_is_declared(
    capability: m.NaftikoDocument, tmp_path: Path, serve_adapter: ServeAdapter
) -> None:
    text = CAPABILITY.split("    resources:\n    - {name: docs")[0]
    path = tmp_path / "tools-only.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path).require()

    async def go(url: str) -> None:
        async with Client(url) as client:
            caps = client.server_capabilities
            assert caps.tools is not None and caps.resources is None and caps.prompts is None
            with pytest.raises(MCPError) as caught:
                await client.list_prompts()
            assert caught.value.code == mt.METHOD_NOT_FOUND

    with serve_mcp(serve_adapter, doc, {}, {}) as url:
        run(lambda: go(url))


MCPCHECK = shutil.which("mcpcheck") or str(Path(sys.executable).with_name("mcpcheck"))


@pytest.mark.skipif(
    not Path(MCPCHECK).exists(), reason="mcpcheck is not installed (pip install jbt-mcpcheck==0.1.1)"
)
def test_mcpcheck_passes_every_check(inline: tuple[str, Upstream]) -> None:
    done = subprocess.run(
        [MCPCHECK, inline[0], "--legacy-probes", "--probe", "all", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(done.stdout)
    failed = {c["name"]: c["summary"] for c in report["checks"] if not c["passed"] or c["failures"]}
    assert done.returncode == 0 and not failed, (failed, done.stderr[-2000:])
    warned = {w["code"] for c in report["checks"] for w in c["warnings"]}
    assert warned <= {"schemas.output_schema_missing"}  # search-items declares no outputs: nothing to promise


@requires_shared
def test_ref_tools_inherit_from_their_aggregate_function() -> None:
    doc = load_file(
        CONFORMANCE / "capabilities/framework-alpha2/aggregates/aggregate-hints-override.yaml"
    ).require()

    async def go() -> dict[str, Any]:
        async with Client(build_server(mcp_adapter(doc), Runtime(doc))) as client:
            return {t.name: dump(t) for t in (await client.list_tools()).tools}

    tools = run(go)
    assert tools["read-items"]["annotations"] == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
    }
    assert tools["read-items-open"]["annotations"]["openWorldHint"] is True
    assert tools["delete-item"]["annotations"] == {
        "readOnlyHint": False,
        "destructiveHint": True,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert tools["delete-item"]["inputSchema"] == {  # the function's declared inputs
        "type": "object",
        "properties": {"item-id": {"type": "string", "description": "ID of the item to delete"}},
        "required": ["item-id"],
        "additionalProperties": False,
    }
    assert "annotations" not in tools["plain-tool"]


def test_an_unreachable_upstream_is_a_tool_error(
    capability: m.NaftikoDocument, serve_adapter: ServeAdapter
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"

    async def go(url: str) -> mt.CallToolResult:
        async with Client(url) as client:
            return await client.call_tool("get-item", {"id": "1", "limit": 2})

    with serve_mcp(serve_adapter, capability, {}, {"api": dead}) as url:
        result = run(lambda: go(url))
    assert result.is_error
    assert text_of(result) == f"get-item failed: api.get-item: cannot connect to {dead} (connection refused)"


def test_a_declared_items_that_is_no_json_schema_stops_the_adapter_from_being_built(tmp_path: Path) -> None:
    """The one part of a tool's schema the capability writes itself is checked against the metaschema."""
    text = CAPABILITY.split("    resources:\n    - {name: docs")[0]
    path = tmp_path / "bad-items.yaml"
    path.write_text(text.replace("items: {type: string}", "items: {type: 5}"), encoding="utf-8")
    doc = load_file(path).require()
    adapter = (
        next(a for a in doc.capability.exposes if isinstance(a, m.ExposesMcp)) if doc.capability else None
    )
    assert adapter is not None
    with pytest.raises(ConfigError) as caught:
        build_mcp_app(adapter, Runtime(doc), host="127.0.0.1", port=0)
    assert str(caught.value).startswith(
        "MCP input parameter 'tags': its items is not a valid JSON Schema (5 is not"
    )
