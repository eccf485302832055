"""The composition root: a capability file becomes a :class:`Capability`, a :class:`~..engine.Runtime` and,
for each adapter, the ASGI app that serves it.

``naftiko serve`` and the tests build their apps here and nowhere else::

    capability = load_capability(path, environ)          # load (and check support), then resolve binds
    runtime = build_runtime(capability, timeouts)         # consumers compiled, pools not opened yet
    app = build_app(adapter, runtime, host=h, port=p)     # the adapter's app + inbound auth + access log

Nothing here opens a connection or binds a socket: the runtime's pools open in :meth:`Runtime.start` on
the serving loop, and the sockets are bound by :mod:`.plan` once every app has been built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..binds import Bindings, resolve_binds
from ..consumes import check_support
from ..consumes.http import Timeouts
from ..consumes.policies import PolicySettings
from ..engine import Runtime, check_steps
from ..errors import BindingError, ConfigError
from ..exposes import adapter_kind, check_adapters
from ..exposes.inbound import protect
from ..observability import access
from ..spec import model as m
from ..spec.loader import LoadResult, load_file
from .guard import DEFAULT_MAX_IN_FLIGHT, Draining, Guard, GuardSettings

#: an adapter of a type with a row in ``exposes.ADAPTERS``
ServedAdapter = m.Exposes


@dataclass(frozen=True)
class Capability:
    """A loaded capability file, its resolved binds and its upstream overrides (namespace → base URL)."""

    file: str
    document: m.NaftikoDocument
    bindings: Bindings
    upstreams: Mapping[str, str] = field(default_factory=dict)

    @property
    def exposes(self) -> Sequence[m.Exposes]:
        return self.document.capability.exposes if self.document.capability else ()


def capability(
    file: str,
    document: m.NaftikoDocument,
    environ: Mapping[str, str],
    upstreams: Mapping[str, str] | None = None,
) -> Capability:
    """Resolve a loaded document's binds against ``environ``; keep the overrides of namespaces it consumes."""
    try:
        bindings = resolve_binds(document, environ)
    except BindingError as exc:
        raise BindingError(f"{file}: {exc}") from None
    consumed = {c.namespace for c in document.capability.consumes} if document.capability else set()
    return Capability(
        file, document, bindings, {ns: url for ns, url in (upstreams or {}).items() if ns in consumed}
    )


def load(path: str | Path, *, schema: bool = True) -> LoadResult:
    """Load a file to serve: its findings include, as errors, what this runtime does not run (consumer
    features and step types without a row in their tables, inbound authentication it cannot enforce),
    and, as warnings, the adapters it does not serve. ``schema=False`` defers the schema check
    (:func:`~..spec.loader.load_file`)."""
    result = load_file(path, schema=schema)
    extra = (*check_support(result), *check_steps(result), *check_adapters(result))
    return replace(result, findings=(*result.findings, *extra))


def load_capability(
    path: str | Path, environ: Mapping[str, str], upstreams: Mapping[str, str] | None = None
) -> Capability:
    """Load one capability file (a :class:`~..errors.SpecError` if it has errors) and resolve its binds."""
    result = load(path)
    return capability(result.file, result.require(), environ, upstreams)


def build_runtime(
    capability: Capability, timeouts: Timeouts | None = None, policies: PolicySettings | None = None
) -> Runtime:
    return Runtime(
        capability.document,
        capability.bindings,
        upstreams=capability.upstreams,
        timeouts=timeouts,
        policies=policies,
    )


def build_app(
    adapter: ServedAdapter,
    runtime: Runtime,
    *,
    host: str,
    port: int,
    allow_hosts: Sequence[str] = (),
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    draining: Draining | None = None,
) -> Any:
    """The adapter's ASGI app, behind its inbound authentication, (when wanted) the access log, and the
    guard every HTTP adapter gets (:mod:`.guard`: in-flight cap, Host/Origin, bodies, shutdown).

    ``allow_hosts`` are extra Host names adapters accept besides loopback and their bound address;
    ``draining`` is shared by the plan's guards and set when shutdown begins.
    """
    kind = adapter_kind(adapter)
    if kind is None:
        raise ConfigError(f"{adapter.type} adapters are not served by this runtime")
    app = kind.build(adapter, runtime, host=host, port=port, allow_hosts=allow_hosts)
    app = protect(app, adapter, runtime.bind_scopes)
    if access.wanted():  # no access log and no observer: no per-request bookkeeping
        app = access.AccessLog(app, adapter.namespace or adapter.type)
    name = adapter.namespace or adapter.type
    keys = any(c.policy.idempotency_key for c in runtime.consumers.values())
    settings = GuardSettings(
        name, adapter.type, host, port, allow_hosts, max_in_flight, draining or Draining(), keys
    )
    return Guard(app, settings)


__all__ = ["Capability", "build_app", "build_runtime", "capability", "load", "load_capability"]
