"""Which observers a serve installs, from the capabilities' control adapters and the ``OTEL_*`` variables.

- metrics: a control adapter serves ``/metrics`` (the default when a capability declares one);
- traces: a control adapter declares ``observability.traces`` or an OTLP exporter, or the environment
  names an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
  ``OTEL_TRACES_EXPORTER=otlp``), unless ``OTEL_SDK_DISABLED=true``;
- neither: nothing is installed or imported, and requests pay nothing.

``prometheus_client`` and the OpenTelemetry SDK are imported here, only when needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..observability import hooks
from ..observability import status as process
from ..spec import model as m
from .assemble import Capability


@dataclass
class Telemetry:
    """What :func:`install` set up; :meth:`close` removes it (and flushes spans)."""

    observers: list[hooks.Observer] = field(default_factory=list)
    metrics: Any = None
    tracing: Any = None
    previous: hooks.Observer | None = None

    def close(self) -> None:
        if self.observers:
            hooks.install(self.previous)
        if self.tracing is not None:
            self.tracing.shutdown()
        self.observers.clear()


def _controls(capabilities: Sequence[Capability]) -> list[m.ExposesControl]:
    return [a for cap in capabilities for a in cap.exposes if isinstance(a, m.ExposesControl)]


def _otlp_from(environ: Mapping[str, str]) -> str | None:
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    traces = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if base:
        return base.rstrip("/") + "/v1/traces"
    if environ.get("OTEL_TRACES_EXPORTER", "").lower() == "otlp":
        return "http://localhost:4318/v1/traces"
    return None


def install(
    capabilities: Sequence[Capability], environ: Mapping[str, str], extra: Sequence[hooks.Observer] = ()
) -> Telemetry:
    """Install the observers the capabilities and the environment ask for, plus ``extra`` ones."""
    telemetry = Telemetry()
    observed = [c.observability for c in _controls(capabilities) if c.observability.enabled]
    if any(o.metrics for o in observed):
        from ..observability.metrics import Metrics

        telemetry.metrics = Metrics()
        telemetry.observers.append(telemetry.metrics)
    declared = next((o for o in observed if o.traces), None)
    endpoint = (declared.otlp_endpoint if declared else None) or _otlp_from(environ)
    if declared is not None or endpoint:
        from ..observability.tracing import Tracing, TracingConfig

        sampler = environ.get("OTEL_TRACES_SAMPLER_ARG")
        config = TracingConfig(
            sampling=declared.sampling if declared else float(sampler or 1.0),
            buffer_size=declared.buffer_size if declared else 100,
            local=declared.traces_local if declared else False,
            endpoint=endpoint,
            service_name=environ.get("OTEL_SERVICE_NAME", "naftiko"),
        )
        telemetry.tracing = Tracing(config)
        telemetry.observers.append(telemetry.tracing)
    telemetry.observers.extend(extra)
    if telemetry.observers:
        chosen = telemetry.observers
        telemetry.previous = hooks.install(chosen[0] if len(chosen) == 1 else hooks.Observers(chosen))
    state = process.current()
    state.metrics = telemetry.metrics
    state.traces = telemetry.tracing.local if telemetry.tracing is not None else None
    return telemetry


__all__ = ["Telemetry", "install"]
