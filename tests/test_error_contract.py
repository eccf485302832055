"""The one contract for upstream failures, on the wire: every route kind (an operation's call, steps, a
forward) and both surfaces (REST, MCP) answer the same problem document.

REST: ``application/problem+json`` whose ``status`` is the caller's (an upstream 4xx about the caller's
request keeps its status; a refused credential, a 5xx or an unreachable upstream is 502), with
``upstreamStatus`` and the upstream's own body as ``upstreamBody`` (its JSON, or its text; redacted and
capped). MCP: an ``isError`` result whose ``structuredContent.error`` is that same document.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from starlette.types import Receive, Scope, Send

from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.consumes.policies import PolicySettings, read_entry
from naftiko_runtime.engine.responses import MAX_ERROR_BODY
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_text

from .conftest import serve_app
from .support import free_port, run_asgi

TOKEN = "tok-contract-5b1e9f0d"

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Errors, description: The upstream error contract}
binds:
- namespace: env
  keys: {API_TOKEN: TEST_API_TOKEN}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://upstream.invalid
    authentication: {type: bearer, token: "{{API_TOKEN}}"}
    resources:
    - name: fail
      path: /fail/{status}/{kind}
      operations:
      - name: fail
        method: GET
        inputParameters: [{name: status, in: path}, {name: kind, in: path}]
  - type: http
    namespace: down
    baseUri: http://127.0.0.1:DEAD_PORT
    resources:
    - {name: ping, path: /ping, operations: [{name: ping, method: GET}]}
  exposes:
  - type: rest
    namespace: errors-rest
    port: 0
    resources:
    - path: /call/{status}/{kind}
      operations: [{method: GET, name: by-call, call: up.fail}]
    - path: /steps/{status}/{kind}
      operations:
      - method: GET
        name: by-steps
        steps:
        - {type: call, name: first, call: up.fail, with: {status: rest.status, kind: rest.kind}}
    - path: /forward/{{path}}
      forward: {targetNamespace: up}
    - path: /down
      operations: [{method: GET, name: down, call: down.ping}]
  - type: mcp
    namespace: errors-mcp
    port: 0
    transport: http
    tools:
    - {name: by-call, description: One call, call: up.fail}
    - name: by-steps
      description: One call step
      inputParameters:
      - {name: status, type: string, description: the status}
      - {name: kind, type: string, description: the body kind}
      steps:
      - {type: call, name: first, call: up.fail, with: {status: tools.status, kind: tools.kind}}
    - {name: down, description: An upstream nobody listens on, call: down.ping}
"""

CALLERS = (400, 404, 409, 422, 429)  # about the caller's request: the status is kept
SERVERS = (401, 403, 500, 503)  # this server's credential, or the upstream's own failure: 502


async def upstream(scope: Scope, receive: Receive, send: Send) -> None:
    """``/fail/{status}/{kind}``: that status with a JSON, text or oversized text body that quotes the
    credential it was sent (the runtime must not hand it on)."""
    assert scope["type"] == "http"
    _, _, status, kind = scope["path"].split("/")
    auth = dict(scope["headers"]).get(b"authorization", b"").decode()
    if kind == "json":
        body, ctype = json.dumps({"error": "refused", "code": int(status), "saw": auth}), "application/json"
    elif kind == "big":
        body, ctype = "x" * (MAX_ERROR_BODY * 3), "text/plain"
    else:
        body, ctype = f"refused with {status}; saw {auth}", "text/plain"
    headers = [(b"content-type", ctype.encode())]
    if status in ("429", "503"):
        headers.append((b"retry-after", b"30"))
    await send({"type": "http.response.start", "status": int(status), "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


@contextlib.contextmanager
def served(kind: str) -> Iterator[str]:
    """The capability's adapter of ``kind`` in front of :func:`upstream`, without retries or a circuit
    (each call reaches the upstream once)."""
    result = load_text(CAPABILITY.replace("DEAD_PORT", str(free_port())), "errors.yaml")
    assert not result.errors(), [f.format() for f in result.findings]
    doc = result.require()
    once = PolicySettings({"*": read_entry({"attempts": 1, "failures": 0}, "test")})
    with run_asgi(upstream) as up:
        cap = capability(doc.file, doc, {"TEST_API_TOKEN": TOKEN}, {"up": up})
        runtime = build_runtime(cap, Timeouts(connect=1, total=5), once)
        adapter = next(a for a in cap.exposes if a.type == kind)
        assert isinstance(adapter, m.ExposesRest | m.ExposesMcp)
        with serve_app(build_app(adapter, runtime, host="127.0.0.1", port=0), runtime) as url:
            yield url


@pytest.fixture(scope="module")
def rest() -> Iterator[httpx.Client]:
    with served("rest") as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with served("mcp") as url:
        yield url.rstrip("/") + "/mcp"


ROUTES = {
    "call": "/call/{status}/{kind}",
    "steps": "/steps/{status}/{kind}",
    "forward": "/forward/fail/{status}/{kind}",
}
OPERATIONS = {"call": "up.fail", "steps": "up.fail", "forward": "up (forward)"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert TOKEN not in response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == "urn:naftiko:problem:upstream-status"
    return body


# --- REST -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("status", CALLERS)
def test_an_upstream_4xx_about_the_callers_request_keeps_its_status_and_json_body(
    rest: httpx.Client, route: str, status: int
) -> None:
    body = problem(rest.get(ROUTES[route].format(status=status, kind="json")), status)
    assert (body["upstreamStatus"], body["operation"]) == (status, OPERATIONS[route])
    assert body["upstreamBody"] == {"error": "refused", "code": status, "saw": "Bearer ***"}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("status", SERVERS)
def test_a_refused_credential_or_an_upstream_failure_is_a_502_keeping_its_text_body(
    rest: httpx.Client, route: str, status: int
) -> None:
    body = problem(rest.get(ROUTES[route].format(status=status, kind="text")), 502)
    assert body["upstreamStatus"] == status
    assert body["upstreamBody"] == f"refused with {status}; saw Bearer ***"


@pytest.mark.parametrize("route", ROUTES)
def test_a_retry_after_reaches_the_caller_as_header_and_member(rest: httpx.Client, route: str) -> None:
    response = rest.get(ROUTES[route].format(status=429, kind="text"))
    body = problem(response, 429)
    assert response.headers["retry-after"] == "30" and body["retryAfter"] == 30


@pytest.mark.parametrize("route", ROUTES)
def test_an_oversized_error_body_is_cut_to_the_cap(rest: httpx.Client, route: str) -> None:
    body = problem(rest.get(ROUTES[route].format(status=422, kind="big")), 422)
    kept = body["upstreamBody"]
    assert len(kept) == MAX_ERROR_BODY and kept.endswith("…")


def test_an_unreachable_upstream_is_a_502_naming_the_operation(rest: httpx.Client) -> None:
    response = rest.get("/down")
    assert response.status_code == 502 and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["operation"] == "down.ping" and "upstreamStatus" not in body


# --- MCP --------------------------------------------------------------------------------------------------


def call_tool(url: str, name: str, arguments: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with Client(url) as client:
            return await client.call_tool(name, arguments)

    return anyio.run(go)


@pytest.mark.parametrize("tool", ["by-call", "by-steps"])
@pytest.mark.parametrize(
    ("status", "kind", "caller"), [(404, "json", 404), (409, "text", 409), (503, "json", 502)]
)
def test_an_mcp_tool_error_carries_the_same_problem_document_as_rest(
    rest: httpx.Client, mcp_url: str, tool: str, status: int, kind: str, caller: int
) -> None:
    result = call_tool(mcp_url, tool, {"status": str(status), "kind": kind})
    assert result.is_error and f"HTTP {status}" in result.content[0].text
    error = result.structured_content["error"]
    route = "call" if tool == "by-call" else "steps"
    same = rest.get(ROUTES[route].format(status=status, kind=kind)).json()
    assert error == same and error["status"] == caller and error["upstreamStatus"] == status
    assert TOKEN not in json.dumps(error)


def test_an_unreachable_upstream_over_mcp_is_an_error_naming_the_operation(mcp_url: str) -> None:
    result = call_tool(mcp_url, "down", {})
    error = result.structured_content["error"]
    assert result.is_error and error["status"] == 502 and error["operation"] == "down.ping"
