"""Tracing with the OpenTelemetry SDK, fed by the observer hook (:mod:`.hooks`).

Imported (with the SDK) only when a control adapter's ``observability`` block or the ``OTEL_*`` variables
ask for traces. Spans:

- a SERVER span per HTTP request, named ``METHOD /route/{template}`` once an operation is known, child of
  the caller's ``traceparent``/``tracestate`` headers;
- a SERVER span per MCP tool call, ``tools/call <tool>`` (MCP semantic conventions), child of the trace
  context in the request's ``params._meta`` when the client put one there, else of the HTTP span;
- a CLIENT span per upstream call, whose context goes upstream in ``traceparent``/``tracestate``.

URLs are recorded without their query string; no header, argument or body value is recorded. The last
traces are kept in a ring buffer (:class:`LocalTraces`) for the control adapter's ``/traces``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .. import __version__
from .context import current_request
from .hooks import Observer, RawHeaders, RequestEvent, ToolEvent, UpstreamEvent

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """What to trace and where to send it (``endpoint``: an OTLP/HTTP collector; ``None``: nowhere)."""

    sampling: float = 1.0
    buffer_size: int = 100
    local: bool = True
    endpoint: str | None = None
    service_name: str = "naftiko"


class _HeaderGetter(Getter[RawHeaders]):
    def get(self, carrier: RawHeaders, key: str) -> list[str] | None:
        name = key.encode("latin-1")
        values = [v.decode("latin-1") for k, v in carrier if k == name]
        return values or None

    def keys(self, carrier: RawHeaders) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier]


class _MetaGetter(Getter[Mapping[str, Any]]):
    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return list(carrier)


_HEADERS = _HeaderGetter()
_META = _MetaGetter()


def _hex(trace_id: int) -> str:
    return f"{trace_id:032x}"


class LocalTraces(SpanProcessor):
    """The last ``size`` traces this process served, each summarised with its spans.

    A trace is recorded when its local root span ends (the one whose parent is remote or absent); its
    children, which end first, wait in a bounded pending table until then.
    """

    def __init__(self, size: int = 100, max_pending: int = 10_000) -> None:
        self.size = size
        self.traces: deque[dict[str, Any]] = deque(maxlen=size)
        self._pending: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._max_pending = max_pending
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.context
        if ctx is None:
            return
        summary = _span_summary(span)
        root = span.parent is None or span.parent.is_remote
        with self._lock:
            if not root:
                self._pending.setdefault(ctx.trace_id, []).append(summary)
                while len(self._pending) > self._max_pending:
                    self._pending.popitem(last=False)
                return
            spans = [*self._pending.pop(ctx.trace_id, []), summary]
            self.traces.append(
                {
                    "traceId": _hex(ctx.trace_id),
                    "operation": span.name,
                    "durationMs": summary["durationMs"],
                    "status": summary["status"],
                    "spanCount": len(spans),
                    "timestamp": summary["startTime"],
                    "spans": spans,
                }
            )

    def recent(self, operation: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Newest first, without their spans."""
        with self._lock:
            found = list(reversed(self.traces))
        return [
            {k: v for k, v in t.items() if k != "spans"}
            for t in found
            if (operation is None or operation in t["operation"])
            and (status is None or t["status"].lower() == status.lower())
        ]

    def get(self, trace_id: str) -> list[dict[str, Any]]:
        """Every recorded local root of that trace (an MCP call can make two: HTTP and tool)."""
        with self._lock:
            return [t for t in self.traces if t["traceId"] == trace_id.lower()]


def _span_summary(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.context
    start, end = span.start_time or 0, span.end_time or 0
    return {
        "spanId": f"{ctx.span_id:016x}" if ctx else None,
        "parentSpanId": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "startTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start / 1e9))
        + f".{int(start % 1e9) // 1_000_000:03d}Z",
        "durationMs": round((end - start) / 1e6, 3),
        "attributes": dict(span.attributes or {}),
    }


class Tracing(Observer):
    """Spans for requests, tool calls and upstream calls, on a provider of its own (never the global one)."""

    def __init__(self, config: TracingConfig, exporters: Iterable[SpanExporter] = ()) -> None:
        self.config = config
        self.local = LocalTraces(config.buffer_size) if config.local else None
        self.provider = TracerProvider(
            sampler=ParentBased(TraceIdRatioBased(config.sampling)),
            resource=Resource.create({"service.name": config.service_name, "service.version": __version__}),
        )
        if self.local is not None:
            self.provider.add_span_processor(self.local)
        for exporter in exporters:
            self.provider.add_span_processor(BatchSpanProcessor(exporter))
        if config.endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = config.endpoint.rstrip("/")
            if not endpoint.endswith("/v1/traces"):
                endpoint += "/v1/traces"
            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        self.tracer = self.provider.get_tracer("naftiko_runtime", __version__)

    def request_start(self, event: RequestEvent) -> None:
        parent = PROPAGATOR.extract(event.headers, getter=_HEADERS)
        span = self.tracer.start_span(
            event.method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": event.method,
                "url.path": event.path,
                "naftiko.adapter": event.adapter,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        context = current_request()
        if context is not None and span.get_span_context().is_valid:
            context.trace_id = _hex(span.get_span_context().trace_id)
        event.state = (span, token)

    def request_end(self, event: RequestEvent) -> None:
        span, token = event.state
        otel_context.detach(token)
        span.set_attribute("http.response.status_code", event.status)
        if event.operation:
            span.set_attribute("naftiko.operation", event.operation)
            if event.operation.startswith(event.method + " "):  # a REST route template
                span.set_attribute("http.route", event.operation.partition(" ")[2])
                span.update_name(event.operation)
        if event.error is not None:
            span.record_exception(event.error)
        if event.status >= 500 or event.error is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    def tool_start(self, event: ToolEvent) -> None:
        remote = "traceparent" in event.meta
        parent = PROPAGATOR.extract(event.meta, getter=_META) if remote else None
        attributes: dict[str, Any] = {
            "mcp.method.name": "tools/call",
            "gen_ai.tool.name": event.name,
            "gen_ai.operation.name": "execute_tool",
        }
        if event.request_id is not None:
            attributes["jsonrpc.request.id"] = str(event.request_id)
        span = self.tracer.start_span(
            f"tools/call {event.name}", context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        event.state = (span, otel_context.attach(trace.set_span_in_context(span)))

    def tool_end(self, event: ToolEvent) -> None:
        span, token = event.state
        otel_context.detach(token)
        if event.error is not None:
            span.record_exception(event.error)
        if event.failed or event.error is not None:
            kind = "tool_error" if event.error is None else type(event.error).__name__
            span.set_attribute("error.type", kind)
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    def upstream_start(self, event: UpstreamEvent) -> None:
        parts = urlsplit(event.url)
        attributes: dict[str, Any] = {
            "http.request.method": event.method,
            "naftiko.upstream.namespace": event.namespace,
            "naftiko.upstream.operation": event.operation,
        }
        if parts.hostname:
            attributes["server.address"] = parts.hostname
            attributes["url.full"] = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
            if parts.port:
                attributes["server.port"] = parts.port
        span = self.tracer.start_span(event.method, kind=SpanKind.CLIENT, attributes=attributes)
        PROPAGATOR.inject(event.headers, context=trace.set_span_in_context(span))
        event.state = span

    def upstream_end(self, event: UpstreamEvent) -> None:
        span = event.state
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
        if event.error is not None:
            span.set_attribute("error.type", type(event.error).__name__)
            span.set_status(Status(StatusCode.ERROR))
        elif event.status is not None and event.status >= 400:
            span.set_attribute("error.type", str(event.status))
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    def shutdown(self) -> None:
        self.provider.shutdown()


__all__ = ["PROPAGATOR", "LocalTraces", "Tracing", "TracingConfig"]
