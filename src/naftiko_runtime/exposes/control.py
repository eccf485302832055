"""The control adapter (``type: control``): health, status, metrics, traces, reload and validate.

Routes, each attached only when its switch is on (``management`` and ``observability``):

- ``GET /health/live``: the process answers. ``GET /health/ready``: every adapter is listening and every
  upstream pool is open (503 while starting, stopping or draining).
- ``GET /status`` (``info``): capabilities, adapters and their URLs, versions, uptime, the last reload.
- ``GET /metrics`` (``observability.metrics.local``): Prometheus text.
- ``GET /traces[?operation=&status=]``, ``GET /traces/{traceId}`` (``observability.traces``): the ring
  buffer of recent traces.
- ``POST /reload`` (``reload``): re-read the served files; a file with errors leaves the old ones serving
  and answers 422 with its findings.
- ``POST /validate`` (``validate``): the capability YAML in the body, its findings as JSON. Imports are
  resolved in an empty folder, so a posted file cannot make the server read local files.

It reads what the server reports in :mod:`..observability.status`; failures are problem documents.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import SPEC_VERSION, __version__
from ..consumes import check_support
from ..engine import Runtime, check_steps
from ..observability import status as process
from ..observability.context import note_operation
from ..problem import Problem, ProblemResponse
from ..spec import model as m
from ..spec.checks import Check
from ..spec.loader import load_text
from .adapter import AdapterKind

MAX_VALIDATE_BYTES = 1 << 20

Answer = Response | ProblemResponse
Handler = Callable[[Request, str], Awaitable[Answer]]


def problem(
    status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any
) -> ProblemResponse:
    return ProblemResponse(Problem(status, title, detail, extensions=extensions, headers=headers or {}))


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        media_type="application/json",
    )


async def _live(request: Request, _: str) -> Answer:
    return _json({"status": "UP"})


async def _ready(request: Request, _: str) -> Answer:
    state = process.current()
    adapters = [a.as_dict() for a in state.adapters]
    if state.ready:
        return _json({"status": "UP", "adapters": adapters})
    return _json({"status": "DOWN", "adapters": adapters}, 503)


async def _status(request: Request, _: str) -> Answer:
    state = process.current()
    uptime = state.uptime()
    return _json(
        {
            "engine": {
                "name": "naftiko-runtime",
                "version": __version__,
                "specVersion": SPEC_VERSION,
                "python": platform.python_version(),
            },
            "startedAt": state.started_at,
            "uptime": process.iso_duration(uptime),
            "uptimeSeconds": round(uptime, 3),
            "ready": state.ready,
            "capabilities": state.capabilities,
            "adapters": [a.as_dict() for a in state.adapters],
            "lastReload": state.last_reload.as_dict() if state.last_reload else None,
            "telemetry": {
                "metrics": state.metrics is not None,
                "traces": state.traces is not None,
            },
        }
    )


async def _metrics(request: Request, _: str) -> Answer:
    metrics = process.current().metrics
    if metrics is None:
        return problem(503, "Metrics unavailable", "this process does not collect metrics")
    return Response(metrics.render(), media_type=metrics.content_type)


async def _traces(request: Request, trace_id: str) -> Answer:
    traces = process.current().traces
    if traces is None:
        return problem(503, "Traces unavailable", "this process does not keep traces")
    if trace_id:
        found = traces.get(trace_id)
        if not found:
            return problem(404, "Not found", f"no trace {trace_id} in the buffer of the last {traces.size}")
        spans = [span for root in found for span in root["spans"]]
        head = {k: v for k, v in found[0].items() if k != "spans"}
        return _json({**head, "spanCount": len(spans), "spans": spans})
    query = request.query_params
    listed = traces.recent(query.get("operation"), query.get("status"))
    return _json({"traces": listed, "bufferSize": traces.size, "bufferUsed": len(traces.traces)})


async def _reload(request: Request, _: str) -> Answer:
    reloader = process.current().reloader
    if reloader is None:
        return problem(503, "Reload unavailable", "this process cannot reload its capabilities")
    result = await reloader()
    if result.ok:
        return _json(result.as_dict())
    body = result.as_dict()
    return problem(422, "Reload refused", result.detail, findings=body.get("findings", []))


async def _validate(request: Request, _: str) -> Answer:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_VALIDATE_BYTES:
            return problem(
                413, "Content too large", f"a capability file is limited to {MAX_VALIDATE_BYTES} bytes"
            )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return problem(400, "Bad request", "the body must be a capability file in UTF-8 YAML")
    from . import check_adapters  # the registry imports this module

    name = request.query_params.get("file") or "<posted>"
    with tempfile.TemporaryDirectory(prefix="naftiko-validate-") as empty:
        result = load_text(text, name, base_dir=Path(empty))
        findings = [
            *result.findings,
            *check_support(result, severity="warning"),
            *check_steps(result, severity="warning"),
            *check_adapters(result, severity="warning"),
        ]
    errors = sum(1 for f in findings if f.severity == "error")
    return _json(
        {
            "file": name,
            "valid": errors == 0 and result.document is not None,
            "errors": errors,
            "warnings": sum(1 for f in findings if f.severity == "warning"),
            "findings": [f.as_dict() for f in findings],
        }
    )


def routes(adapter: m.ExposesControl) -> dict[tuple[str, str], Handler]:
    """``(method, path) -> handler`` for the switches that are on; ``/traces/`` matches a trace id."""
    manage, observe = adapter.management, adapter.observability
    table: dict[tuple[str, str], Handler] = {}
    if manage.health:
        table[("GET", "/health/live")] = _live
        table[("GET", "/health/ready")] = _ready
    if manage.info:
        table[("GET", "/status")] = _status
    if observe.enabled and observe.metrics:
        table[("GET", "/metrics")] = _metrics
    if observe.enabled and observe.traces and observe.traces_local:
        table[("GET", "/traces")] = _traces
        table[("GET", "/traces/")] = _traces
    if manage.reload:
        table[("POST", "/reload")] = _reload
    if manage.validate:
        table[("POST", "/validate")] = _validate
    return table


class ControlApp:
    def __init__(self, table: dict[tuple[str, str], Handler]) -> None:
        self.table = table
        self.paths: dict[str, list[str]] = {}
        for method, path in table:
            self.paths.setdefault(path, []).append(method)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path: str = scope["path"]
        key, tail = path, ""
        if path.startswith("/traces/") and len(path) > len("/traces/"):
            key, tail = "/traces/", path[len("/traces/") :]
        methods = self.paths.get(key)
        response: Answer
        if methods is None:
            response = problem(404, "Not found", f"the control adapter serves no {path}")
        elif scope["method"] not in methods and not (scope["method"] == "HEAD" and "GET" in methods):
            allowed = ", ".join(sorted(methods))
            response = problem(
                405, "Method not allowed", f"{path} answers {allowed}", headers={"Allow": allowed}
            )
        else:
            method = "GET" if scope["method"] == "HEAD" else scope["method"]
            note_operation(f"{method} {key}{'{traceId}' if tail else ''}")
            response = await self.table[(method, key)](Request(scope, receive), tail)
        await response(scope, receive, send)


def build_control_app(
    adapter: m.ExposesControl, runtime: Runtime, *, host: str, port: int, **_: Any
) -> ASGIApp:
    return ControlApp(routes(adapter))


def check_control(adapter: m.ExposesControl, document: m.NaftikoDocument) -> Iterator[Check]:
    """What this runtime does not do with a valid control adapter, and what it needs to do the rest."""
    manage, observe = adapter.management, adapter.observability
    for key, declared in (("logs", manage.logs), ("scripting", manage.scripting)):
        if declared:
            yield ("warning", (*manage.path, key), f"management.{key} is not served by this runtime", True)
    if observe.enabled and observe.traces:
        if observe.propagation != "w3c":
            message = f"trace propagation {observe.propagation!r} is not supported: W3C trace context is used"
            yield ("warning", (*observe.path, "traces", "propagation"), message, False)
        if importlib.util.find_spec("opentelemetry.sdk") is None:
            message = "traces need the OpenTelemetry SDK: install naftiko-runtime[otel]"
            yield ("error", (*observe.path, "traces"), message, True)
    capability = document.capability
    controls = [a for a in capability.exposes if a.type == "control"] if capability else []
    if len(controls) > 1 and adapter is controls[1]:
        yield ("error", adapter.path, "a capability has at most one control adapter", False)


CONTROL = AdapterKind("control", m.ExposesControl, build_control_app, path="/", check=check_control)

__all__ = ["CONTROL", "MAX_VALIDATE_BYTES", "ControlApp", "build_control_app", "check_control", "routes"]
