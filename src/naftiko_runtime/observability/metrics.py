"""RED metrics in the Prometheus text format, fed by the observer hook (:mod:`.hooks`).

Imported (with ``prometheus_client``) only when a control adapter serves ``/metrics``. Label values are
bounded: adapter and consumed namespaces, route templates, tool and operation names, status classes or
codes, and a few fixed words; never a raw path, a query or an argument value. A request no operation
served (an unknown route, an MCP message that is not a tool call) is labelled ``operation="-"``.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ..errors import UpstreamTimeoutError
from .hooks import Observer, RequestEvent, UpstreamEvent

CONTENT_TYPE = CONTENT_TYPE_LATEST

#: seconds; from a cached answer to a slow upstream
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def upstream_outcome(event: UpstreamEvent) -> str:
    """The upstream's status code, or what went wrong when it gave none (``timeout``, ``error``)."""
    if event.status is not None:
        return str(event.status)
    return "timeout" if isinstance(event.error, UpstreamTimeoutError) else "error"


class Metrics(Observer):
    """The runtime's metrics in their own registry; :meth:`render` is what ``/metrics`` answers."""

    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "naftiko_requests",
            "Requests served, by adapter, operation or tool, and status class.",
            ["adapter", "operation", "status_class"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "naftiko_request_duration_seconds",
            "Time to answer a request, by adapter and operation or tool.",
            ["adapter", "operation"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "naftiko_requests_in_flight", "Requests being served, by adapter.", ["adapter"], registry=registry
        )
        self.upstream = Counter(
            "naftiko_upstream_requests",
            "Upstream calls, by consumed namespace, operation and status code (or timeout, error).",
            ["namespace", "operation", "status"],
            registry=registry,
        )
        self.upstream_seconds = Histogram(
            "naftiko_upstream_duration_seconds",
            "Time an upstream call took, by consumed namespace and operation.",
            ["namespace", "operation"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "naftiko_upstream_retries",
            "Upstream calls tried again, by consumed namespace and operation.",
            ["namespace", "operation"],
            registry=registry,
        )
        self.rejections = Counter(
            "naftiko_rejections",
            "Requests turned away before an operation ran, by adapter and reason.",
            ["adapter", "reason"],
            registry=registry,
        )
        self.reloads = Counter(
            "naftiko_reloads", "Reloads of the capability files, by result.", ["result"], registry=registry
        )
        # label lookups are cached: a request costs dict lookups, not prometheus_client's locking path
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def request_start(self, event: RequestEvent) -> None:
        self._child(self.in_flight, event.adapter).inc()

    def request_end(self, event: RequestEvent) -> None:
        operation = event.operation or "-"
        self._child(self.in_flight, event.adapter).dec()
        self._child(self.requests, event.adapter, operation, status_class(event.status)).inc()
        self._child(self.request_seconds, event.adapter, operation).observe(event.duration)

    def upstream_end(self, event: UpstreamEvent) -> None:
        self._child(self.upstream, event.namespace, event.operation, upstream_outcome(event)).inc()
        self._child(self.upstream_seconds, event.namespace, event.operation).observe(event.duration)

    def retry(self, namespace: str, operation: str) -> None:
        self._child(self.retries, namespace, operation).inc()

    def rejection(self, adapter: str, reason: str) -> None:
        self._child(self.rejections, adapter, reason).inc()

    def reload(self, ok: bool) -> None:
        self._child(self.reloads, "ok" if ok else "refused").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["BUCKETS", "CONTENT_TYPE", "Metrics", "status_class", "upstream_outcome"]
