"""Script steps: JavaScript in the QuickJS sandbox over the corpus's script fixtures; Python and Groovy
refused at load; escapes refused; a runaway script stopped at its limit without blocking other calls."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from naftiko_runtime.engine.scripting import Script, ScriptError
from naftiko_runtime.spec.loader import load_text

from .conftest import ServeAdapter
from .support import CONFORMANCE, requires_shared, run_asgi
from .test_rest import serve_rest
from .upstreams import scripted_app

SCRIPTS = CONFORMANCE / "ikanos-beta5" / "engine" / "scripts"
MEMBERS = [
    {"login": "ada", "id": 1, "type": "User"},
    {"login": "bots", "id": 2, "type": "Bot"},
    {"login": "grace", "id": 3, "type": "User"},
]
ORDERS = [{"id": "o1", "amount": 12.5}, {"id": "o2", "amount": 30}]
ITEMS = [{"sku": "a", "stock": 3}, {"sku": "b", "stock": 40}, {"sku": "c", "stock": 9}]


def capability(location: str, *, timeout_ms: int = 5000, language: str = "javascript") -> str:
    def op(path: str, call: str | None, step: str, file: str, extra: str = "") -> str:
        call_step = f"\n          - {{type: call, name: {call}, call: up.{call}}}" if call else ""
        return f"""
    - path: {path}
      name: {path.strip("/").replace("/", "-")}
      operations:
      - method: GET
        inputParameters: [{{name: threshold, in: query, type: number}}]
        steps:{call_step}
          - type: script
            name: {step}
            file: {file}{extra}
        mappings: [{{targetName: out, value: $.{step}}}]"""

    deps = "\n            dependencies: [lib/array-utils.js]"
    threshold = "\n            with: {threshold: '{{threshold}}'}"
    ops = "".join(
        [
            op("/active", "list-members", "filter-active", "filter-active.js"),
            op("/active-lib", "list-members", "pick", "active-members.js", deps),
            op("/totals", "get-orders", "totals", "compute-totals.js"),
            op("/low", "fetch-items", "low", "filter-by-threshold.js", threshold),
            op("/simple", None, "simple", "simple-transform.js"),
            op("/no-result", None, "none", "no-result.js"),
            op("/host", None, "host", "host-access.js"),
            op("/loop", None, "loop", "infinite-loop.js"),
        ]
    )
    return f"""\
naftiko: 1.0.0-alpha2
info: {{label: Scripts, description: script steps}}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://upstream.invalid
    resources:
    - name: members
      path: /members
      operations: [{{name: list-members, method: GET}}]
    - name: orders
      path: /orders
      operations: [{{name: get-orders, method: GET}}]
    - name: items
      path: /items
      operations: [{{name: fetch-items, method: GET}}]
  exposes:
  - type: rest
    namespace: api
    port: 8080
    resources:{ops}
    - path: /ping
      name: ping
      operations:
      - method: GET
        outputParameters: [{{name: pong, type: string, value: "yes"}}]
  - type: control
    port: 9099
    management:
      scripting: {{defaultLanguage: {language}, defaultLocation: "{location}", timeout: {timeout_ms}}}
"""


UPSTREAM = {
    "/members": (200, "application/json", __import__("json").dumps(MEMBERS)),
    "/orders": (200, "application/json", __import__("json").dumps(ORDERS)),
    "/items": (200, "application/json", __import__("json").dumps(ITEMS)),
}


def _serve(timeout_ms: int = 5000) -> Any:
    doc = load_text(capability(SCRIPTS.as_uri(), timeout_ms=timeout_ms), "scripts.yaml").require()
    return doc


@pytest.fixture(scope="module")
def api(serve_adapter: ServeAdapter) -> Any:
    if not SCRIPTS.is_dir():
        pytest.skip(f"the shared corpus is not beside the checkout ({SCRIPTS} is missing)")
    doc = _serve(timeout_ms=400)
    with run_asgi(scripted_app(UPSTREAM)) as base, serve_rest(serve_adapter, doc, {}, {"up": base}) as client:
        yield client


@requires_shared
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/active", [{"login": "ada", "id": 1}, {"login": "grace", "id": 3}]),
        ("/active-lib", [{"login": "ada", "id": 1}, {"login": "grace", "id": 3}]),
        ("/totals", {"totalAmount": 42.5, "orderCount": 2}),
        ("/low?threshold=10", [{"sku": "a", "stock": 3}, {"sku": "c", "stock": 9}]),
        ("/simple", {"greeting": "hello", "count": 42, "flag": True}),
    ],
)
def test_javascript_fixtures_produce_their_documented_results(
    api: httpx.Client, path: str, expected: Any
) -> None:
    response = api.get(path)
    assert response.status_code == 200, response.text
    assert response.json() == {"out": expected}


@requires_shared
def test_a_script_that_assigns_no_result_is_a_server_error_naming_the_step(api: httpx.Client) -> None:
    response = api.get("/no-result")
    assert response.status_code == 500
    assert response.json()["detail"] == "script step 'none' (no-result.js) did not assign result"


@requires_shared
def test_the_host_access_fixture_finds_no_host(api: httpx.Client) -> None:
    response = api.get("/host")
    assert response.status_code == 500
    assert "ReferenceError" in response.json()["detail"] and "java" in response.json()["detail"]


@requires_shared
def test_an_infinite_loop_is_stopped_at_its_limit_without_blocking_other_requests(api: httpx.Client) -> None:
    outcome: dict[str, Any] = {}

    def loop() -> None:
        started = time.monotonic()
        outcome["response"] = api.get("/loop", timeout=60)
        outcome["ended"] = time.monotonic()
        outcome["seconds"] = outcome["ended"] - started

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.1)
    answered = []  # when each ping came back
    while thread.is_alive() and len(answered) < 20:
        assert api.get("/ping").json() == {"pong": "yes"}
        answered.append(time.monotonic())
    thread.join(60)
    response = outcome["response"]
    assert response.status_code == 500
    assert (
        response.json()["detail"]
        == "script step 'loop' (infinite-loop.js) was stopped at its CPU-time limit of 400 ms"
    )
    # other requests were answered while the script was running: a blocked event loop would answer at
    # most the one ping already waiting, and only once the script had stopped
    assert len([t for t in answered if t < outcome["ended"]]) >= 2, (answered, outcome)
    assert outcome["seconds"] < 30


# --- escapes --------------------------------------------------------------------------------------------

ESCAPES = {
    "java bridge": "result = java.lang.Runtime.getRuntime().exec('id')",
    "graal interop": "result = Java.type('java.lang.System').getenv()",
    "polyglot": "result = Polyglot.eval('python', 'import os')",
    "node require": "result = require('fs').readFileSync('/etc/passwd', 'utf8')",
    "node process": "result = process.env",
    "quickjs std": "result = std.loadFile('/etc/passwd')",
    "quickjs os": "result = os.exec(['id'])",
    "dynamic import": "var done; import('os').then(function (m) { done = m; }); result = done.exec(['id'])",
    "static import": "import * as os from 'os'; result = os.exec(['id'])",
    "fetch": "result = fetch('http://127.0.0.1:1/')",
    "xhr": "result = new XMLHttpRequest()",
    "deno": "result = Deno.readTextFileSync('/etc/passwd')",
    "load": "result = load('/etc/passwd')",
    "read": "result = read('/etc/passwd')",
    "global via Function": "var g = Function('return this')(); result = g.os.exec(['id'])",
    "constructor chain": "result = ({}).constructor.constructor('return process')().env",
    "scriptArgs": "result = scriptArgs",
    "timers": "result = setTimeout(function () {}, 1)",
    "print to host": "print('escaped'); result = 1",
    "memory bomb": "var a = []; while (true) { a.push(new Array(1e6).fill(7)); }",
    "string bomb": "var s = 'x'; while (true) { s = s + s; }",
    "stack bomb": "function f(n) { return f(n + 1) + 1; } result = f(0)",
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_escape_attempts_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "escape.js").write_text(ESCAPES[name])
    script = Script.load("escape", tmp_path / "escape.js", (), 2000)
    with pytest.raises(ScriptError) as caught:
        asyncio.run(script.run({}))
    assert caught.value.status == 500
    assert "escaped" not in str(caught.value)


def test_context_carries_json_values_in_and_out(tmp_path: Path) -> None:
    (tmp_path / "t.js").write_text("result = {n: context.n + 1, s: context.list.join('-'), none: context.x}")
    script = Script.load("t", tmp_path / "t.js", (), 2000)
    assert asyncio.run(script.run({"n": 1, "list": ["a", "b"], "x": None})) == {
        "n": 2,
        "s": "a-b",
        "none": None,
    }


# --- Python and Groovy: refused at load -----------------------------------------------------------------

REFUSED = sorted(SCRIPTS.glob("*.py")) + sorted(SCRIPTS.glob("*.groovy")) if SCRIPTS.is_dir() else []


@requires_shared
@pytest.mark.parametrize("script", REFUSED, ids=[p.name for p in REFUSED])
def test_python_and_groovy_fixtures_are_refused_at_load_with_their_line(script: Path) -> None:
    language = "python" if script.suffix == ".py" else "groovy"
    text = f"""\
naftiko: 1.0.0-alpha2
info: {{label: Refused, description: other languages}}
capability:
  exposes:
  - type: mcp
    namespace: tools
    port: 9000
    tools:
    - name: run
      description: runs a script
      steps:
      - type: script
        name: run
        language: {language}
        location: "{SCRIPTS.as_uri()}"
        file: {script.name}
      mappings: [{{targetName: out, value: $.run}}]
"""
    result = load_text(text, "refused.yaml")
    [error] = result.errors()
    assert error.line == 14 and error.json_path.endswith(".steps[0].language")
    assert error.message.startswith(f"{language.capitalize()} script steps are refused")


def test_a_missing_script_file_is_a_load_error(tmp_path: Path) -> None:
    result = load_text(capability(tmp_path.as_uri()), "scripts.yaml")
    errors = result.errors()
    assert errors and all("does not exist" in e.message for e in errors)
    assert any(e.json_path.endswith("dependencies[0]") for e in errors)
