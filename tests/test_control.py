"""The control adapter over real HTTP: health, readiness, status, metrics, traces and validate, next to a REST
and an MCP adapter whose calls reach a real upstream."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from naftiko_runtime.cli import main
from naftiko_runtime.exposes.control import routes
from naftiko_runtime.observability import hooks
from naftiko_runtime.observability.logs import JsonFormatter
from naftiko_runtime.observability.tracing import Tracing
from naftiko_runtime.server.assemble import load
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file

from .conftest import ServeFiles
from .support import CONFORMANCE, requires_shared

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Controlled, description: control adapter tests}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: http://127.0.0.1:9
    resources:
    - name: any
      path: /any/{rest}
      operations:
      - name: get-any
        method: GET
        inputParameters: [{name: rest, in: path}]
  exposes:
  - type: rest
    namespace: shop
    port: 0
    resources:
    - path: /any/{rest}
      operations: [{method: GET, call: echo.get-any}]
  - type: mcp
    namespace: tools
    port: 0
    tools:
    - name: echo-it
      description: Echo a path.
      inputParameters: [{name: what, type: string, description: the path segment}]
      call: echo.get-any
      with: {rest: tools.what}
  - type: control
    port: 0
    management: {health: true, info: true, validate: true}
    observability:
      traces:
        local: {buffer-size: 10}
"""

BROKEN = """\
naftiko: 1.0.0-alpha2
info: {label: Broken, description: a call to nowhere}
capability:
  exposes:
  - type: rest
    namespace: x
    port: 8080
    resources:
    - path: /x
      operations: [{method: GET, call: nope.op}]
"""

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@dataclass
class Served:
    urls: dict[str, str]
    exporter: InMemorySpanExporter

    @property
    def control(self) -> str:
        return self.urls["control"].rstrip("/")


@contextlib.contextmanager
def controlled(
    tmp_path: Path, echo: str, serve_files: ServeFiles, text: str = CAPABILITY
) -> Iterator[Served]:
    path = tmp_path / "controlled.yaml"
    path.write_text(text, encoding="utf-8")
    with serve_files([path], upstreams={"echo": echo}) as adapters:
        installed = hooks.observer
        assert isinstance(installed, hooks.Observers)
        tracing = next(o for o in installed.observers if isinstance(o, Tracing))
        exporter = InMemorySpanExporter()
        tracing.provider.add_span_processor(SimpleSpanProcessor(exporter))
        yield Served({b.namespace: b.url for b in adapters}, exporter)
    assert hooks.observer is None  # the serve took its observers away


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def call_tool(url: str, name: str, arguments: dict[str, Any], meta: dict[str, Any] | None = None) -> Any:
    async def go() -> Any:
        async with Client(url) as client:
            return await client.call_tool(name, arguments, meta=meta)  # type: ignore[arg-type]

    return anyio.run(go)


def test_health_and_readiness_answer_once_every_adapter_is_up(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        live = httpx.get(served.control + "/health/live")
        assert (live.status_code, live.json()) == (200, {"status": "UP"})
        ready = httpx.get(served.control + "/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "UP"
        states = {(a["type"], a["namespace"]): (a["state"], a["url"]) for a in ready.json()["adapters"]}
        assert states[("rest", "shop")] == ("started", served.urls["shop"])
        assert states[("mcp", "tools")] == ("started", served.urls["tools"])
        assert states[("control", "control")][0] == "started"


def test_status_names_capabilities_adapters_versions_and_uptime(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        status = httpx.get(served.control + "/status").json()
    assert status["engine"]["name"] == "naftiko-runtime" and status["engine"]["specVersion"] == "1.0.0-alpha2"
    assert status["capabilities"] == [
        {"file": str(tmp_path / "controlled.yaml"), "label": "Controlled", "specVersion": "1.0.0-alpha2"}
    ]
    assert [a["url"] for a in status["adapters"]] == [served.urls[n] for n in ("shop", "tools", "control")]
    assert status["uptime"].startswith("PT") and status["uptimeSeconds"] > 0
    assert status["lastReload"] is None and status["telemetry"] == {"metrics": True, "traces": True}


def test_unknown_routes_and_methods_are_problems_and_switched_off_routes_are_absent(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        missing = httpx.get(served.control + "/nowhere")
        wrong = httpx.delete(served.control + "/metrics")
        reload = httpx.post(served.control + "/reload")  # management.reload is off
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "the control adapter serves no /nowhere"
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    assert reload.status_code == 404


def test_metrics_count_rest_operations_mcp_tools_and_their_upstream_calls(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        shop = served.urls["shop"].rstrip("/")
        assert httpx.get(shop + "/any/one", params={"q": "secret-value"}).status_code == 200
        assert httpx.get(shop + "/any/two").status_code == 200
        assert httpx.get(shop + "/nowhere").status_code == 404
        result = call_tool(served.urls["tools"], "echo-it", {"what": "three"})
        assert not result.is_error
        response = httpx.get(served.control + "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "secret-value" not in text and "/any/one" not in text  # route templates, never raw paths
    got = samples(text)

    def value(name: str, **labels: str) -> float:
        return got[(name, frozenset(labels.items()))]

    rest_op = {"adapter": "shop", "operation": "GET /any/{rest}"}
    assert value("naftiko_requests_total", **rest_op, status_class="2xx") == 2
    assert value("naftiko_requests_total", adapter="shop", operation="-", status_class="4xx") == 1
    assert value("naftiko_request_duration_seconds_count", **rest_op) == 2
    assert value("naftiko_requests_total", adapter="tools", operation="echo-it", status_class="2xx") == 1
    assert value("naftiko_request_duration_seconds_count", adapter="tools", operation="echo-it") == 1
    assert value("naftiko_requests_in_flight", adapter="shop") == 0
    upstream = {"namespace": "echo", "operation": "get-any"}
    assert value("naftiko_upstream_requests_total", **upstream, status="200") == 3
    assert value("naftiko_upstream_duration_seconds_count", **upstream) == 3
    assert value("naftiko_upstream_duration_seconds_sum", **upstream) > 0


def test_a_callers_trace_reaches_the_upstream_and_spans_nest_server_to_client(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        shop = served.urls["shop"].rstrip("/")
        echoed = httpx.get(shop + "/any/traced", headers={"traceparent": TRACEPARENT, "tracestate": "k=v"})
        upstream_headers = echoed.json()["headers"]
        listed = httpx.get(served.control + "/traces").json()
        detail = httpx.get(served.control + f"/traces/{TRACE_ID}").json()
        unknown = httpx.get(served.control + "/traces/" + "0" * 32)
    assert upstream_headers["traceparent"].split("-")[1] == TRACE_ID
    assert upstream_headers["tracestate"] == "k=v"
    spans = {s.name: s for s in served.exporter.get_finished_spans()}
    server, client = spans["GET /any/{rest}"], spans["GET"]
    assert (server.kind, client.kind) == (SpanKind.SERVER, SpanKind.CLIENT)
    assert server.context is not None and client.parent is not None
    assert f"{server.context.trace_id:032x}" == TRACE_ID and client.parent.span_id == server.context.span_id
    assert server.parent is not None and server.parent.is_remote
    assert server.attributes is not None and server.attributes["http.route"] == "/any/{rest}"
    assert client.attributes is not None and client.attributes["naftiko.upstream.operation"] == "get-any"
    assert upstream_headers["traceparent"].split("-")[2] == f"{client.context.span_id:016x}"  # type: ignore[union-attr]
    assert listed["bufferSize"] == 10 and listed["traces"][0]["traceId"] == TRACE_ID
    assert listed["traces"][0]["operation"] == "GET /any/{rest}" and listed["traces"][0]["spanCount"] == 2
    assert [s["kind"] for s in detail["spans"]] == ["CLIENT", "SERVER"]
    assert unknown.status_code == 404


def test_an_mcp_tool_call_joins_the_trace_in_its_meta(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        result = call_tool(
            served.urls["tools"], "echo-it", {"what": "meta"}, meta={"traceparent": TRACEPARENT}
        )
        assert not result.is_error
        upstream_trace = result.structured_content["headers"]["traceparent"].split("-")[1]
    assert upstream_trace == TRACE_ID
    spans = served.exporter.get_finished_spans()
    tool = next(s for s in spans if s.name == "tools/call echo-it")
    client = next(s for s in spans if s.kind == SpanKind.CLIENT)
    assert tool.kind == SpanKind.SERVER and tool.attributes is not None
    assert (
        tool.attributes["mcp.method.name"] == "tools/call"
        and tool.attributes["gen_ai.tool.name"] == "echo-it"
    )
    assert client.parent is not None and tool.context is not None
    assert client.parent.span_id == tool.context.span_id


@pytest.mark.parametrize(
    ("text", "valid", "message"),
    [
        (CAPABILITY, True, "0 is less than the minimum 1"),
        (BROKEN, False, "call 'nope.op' names no consumes namespace 'nope'"),
    ],
)
def test_validate_answers_the_findings_of_a_posted_file(
    tmp_path: Path, echo: str, serve_files: ServeFiles, text: str, valid: bool, message: str
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        response = httpx.post(served.control + "/validate", content=text, params={"file": "posted.yaml"})
    assert response.status_code == 200
    report = response.json()
    assert report["file"] == "posted.yaml" and report["valid"] is valid
    assert any(message in f["message"] and f["file"] == "posted.yaml" for f in report["findings"])


def test_the_cli_reads_health_status_metrics_and_traces(
    tmp_path: Path, echo: str, serve_files: ServeFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    with controlled(tmp_path, echo, serve_files) as served:
        url = served.control
        assert httpx.get(served.urls["shop"] + "any/cli", headers={"traceparent": TRACEPARENT}).is_success
        assert main(["health", "--url", url]) == 0
        health = capsys.readouterr().out
        assert main(["status", "--url", url]) == 0
        status = json.loads(capsys.readouterr().out)
        assert main(["metrics", "--url", url, "--filter", "^naftiko_upstream_requests"]) == 0
        metrics = capsys.readouterr().out
        assert main(["traces", "--url", url, "--operation", "/any/"]) == 0
        traces = json.loads(capsys.readouterr().out)
        assert main(["traces", TRACE_ID, "--url", url]) == 0
        trace = json.loads(capsys.readouterr().out)
    assert health.splitlines()[:2] == ["live: UP", "ready: UP"] and "shop" in health
    assert [a["namespace"] for a in status["adapters"]] == ["shop", "tools", "control"]
    assert metrics.splitlines()[0].startswith("# HELP naftiko_upstream_requests_total")
    assert all("naftiko_upstream_requests" in line for line in metrics.splitlines())
    assert [t["traceId"] for t in traces["traces"]] == [TRACE_ID] and trace["spanCount"] == 2
    assert main(["health", "--url", url]) == 1  # the server has stopped
    assert "cannot reach the control adapter" in capsys.readouterr().err


PLAIN = CAPABILITY.split("  - type: control")[0]

ZERO_COST_PROBE = """\
import sys
from naftiko_runtime.observability import access, hooks
from naftiko_runtime.server.plan import prepare

plan = prepare([sys.argv[1]], environ={}, upstreams={"echo": "http://127.0.0.1:9"})
print(hooks.observer is None, access.wanted(), "prometheus_client" in sys.modules,
      "opentelemetry.sdk.trace" in sys.modules)
plan.close()
"""


def test_without_a_control_adapter_nothing_observes_and_no_telemetry_library_is_imported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(PLAIN, encoding="utf-8")
    probe = subprocess.run(
        [sys.executable, "-c", ZERO_COST_PROBE, str(path)], capture_output=True, text=True, check=False
    )
    assert probe.returncode == 0, probe.stderr
    # no observer, no access middleware once the access log is off, no prometheus_client, no OTel SDK
    assert probe.stdout.split() == ["True", "False", "False", "False"]


FIXTURES = CONFORMANCE / "capabilities" / "framework-alpha2"


def control_of(path: Path) -> m.ExposesControl:
    document = load_file(path).require()
    assert document.capability is not None
    (control,) = [a for a in document.capability.exposes if isinstance(a, m.ExposesControl)]
    return control


@requires_shared
def test_the_corpus_control_fixtures_attach_the_routes_their_switches_ask_for() -> None:
    plain = control_of(FIXTURES / "control" / "control-capability.yaml")
    assert (plain.port, plain.address, plain.observability.buffer_size) == (9199, "localhost", 50)
    assert sorted(routes(plain)) == [
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
        ("GET", "/metrics"),
        ("GET", "/status"),
        ("GET", "/traces"),
        ("GET", "/traces/"),
    ]
    disabled = control_of(FIXTURES / "control" / "control-observability-disabled.yaml")
    assert sorted(routes(disabled)) == [("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/status")]
    exported = control_of(FIXTURES / "observability" / "observability-capability.yaml")
    observe = exported.observability
    assert (observe.sampling, observe.propagation, observe.otlp_endpoint) == (
        0.5,
        "b3",
        "http://collector.local:4317",
    )
    assert observe.traces and ("GET", "/traces") in routes(exported)


@requires_shared
def test_validate_warns_about_what_the_control_adapter_does_not_serve() -> None:
    findings = {
        name: [f.message for f in load(FIXTURES / name).findings]
        for name in (
            "control/control-scripting-capability.yaml",
            "observability/observability-capability.yaml",
        )
    }
    assert findings["control/control-scripting-capability.yaml"] == [
        "management.scripting is not served by this runtime"
    ]
    assert findings["observability/observability-capability.yaml"] == [
        "trace propagation 'b3' is not supported: W3C trace context is used"
    ]


PROTECTED = """\
naftiko: 1.0.0-alpha2
info: {label: Protected, description: inbound authentication on the control adapter too}
binds:
- namespace: env
  keys: {ADMIN_TOKEN: ADMIN_TOKEN}
capability:
  exposes:
  - type: rest
    namespace: shop
    port: 0
    authentication: {type: bearer, token: "{{ADMIN_TOKEN}}"}
    resources:
    - path: /hello
      operations:
      - method: GET
        outputParameters: [{name: greeting, type: string, value: hello}]
  - type: control
    port: 0
    authentication: {type: bearer, token: "{{ADMIN_TOKEN}}"}
"""


def test_inbound_authentication_guards_the_control_adapter_and_refusals_are_counted(
    tmp_path: Path, serve_files: ServeFiles
) -> None:
    path = tmp_path / "protected.yaml"
    path.write_text(PROTECTED, encoding="utf-8")
    token = {"Authorization": "Bearer admin-7f3a"}
    with serve_files([path], environ={"ADMIN_TOKEN": "admin-7f3a"}) as adapters:
        urls = {b.namespace: b.url for b in adapters}
        refused = httpx.get(urls["control"] + "metrics")
        assert httpx.get(urls["shop"] + "hello").status_code == 401
        assert httpx.get(urls["shop"] + "hello", headers=token).json() == {"greeting": "hello"}
        metrics = httpx.get(urls["control"] + "metrics", headers=token)
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    got = samples(metrics.text)
    assert (
        got[("naftiko_rejections_total", frozenset({"adapter": "shop", "reason": "unauthenticated"}.items()))]
        == 1
    )
    assert (
        got[
            (
                "naftiko_rejections_total",
                frozenset({"adapter": "control", "reason": "unauthenticated"}.items()),
            )
        ]
        == 1
    )
    assert "admin-7f3a" not in metrics.text


FORWARDING = """\
naftiko: 1.0.0-alpha2
info: {label: Forwarding, description: access lines name the operation}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: http://127.0.0.1:9
    resources:
    - name: any
      path: /any/{rest}
      operations: [{name: get-any, method: GET, inputParameters: [{name: rest, in: path}]}]
  exposes:
  - type: rest
    namespace: shop
    port: 0
    resources:
    - path: /any/{rest}
      operations: [{method: GET, call: echo.get-any}]
    - path: /passthrough/{{path}}
      forward: {targetNamespace: echo}
"""


def test_access_records_name_operation_and_upstream_and_render_as_json_without_query_values(
    tmp_path: Path, echo: str, serve_files: ServeFiles, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "forwarding.yaml"
    path.write_text(FORWARDING, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="naftiko.access")
    with serve_files([path], upstreams={"echo": echo}) as adapters:
        base = adapters[0].url.rstrip("/")
        assert httpx.get(base + "/any/a", params={"token": "q-secret-1"}).status_code == 200
        assert httpx.get(base + "/passthrough/x/y").status_code == 200
    records = [r for r in caplog.records if r.name == "naftiko.access"]
    fields = [r.fields for r in records]  # type: ignore[attr-defined]
    assert [
        (f["operation"], f["path"], f["status"], f["upstream"], f["upstream_status"]) for f in fields
    ] == [
        ("GET /any/{rest}", "/any/a", 200, "echo.get-any", 200),
        ("GET /passthrough/{{path}}", "/passthrough/x/y", 200, "echo (forward)", 200),
    ]
    assert all(f["duration_ms"] >= f["upstream_ms"] > 0 for f in fields[:1])
    lines = [JsonFormatter().format(r) for r in records]
    first = json.loads(lines[0])
    assert first["logger"] == "naftiko.access" and first["adapter"] == "shop" and first["level"] == "info"
    assert "q-secret-1" not in "\n".join(lines) and "token" not in "\n".join(lines)
