"""Start-up, step 1: find and load the files, resolve binds, plan one listener per adapter, build every
adapter's app, and only then bind the sockets.

Everything that can be wrong is found in that order, before anything listens: a load error, a bind that
cannot resolve, an unknown ``--port``/``--upstream`` namespace, a feature this runtime does not run, an
inbound authentication it cannot enforce, two adapters on one port, a port in use. Nothing here opens an
upstream connection: the runtimes' pools open on the serving loop (:mod:`.run`).
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..consumes.http import Timeouts
from ..consumes.policies import ALL, PolicySettings
from ..engine import Runtime
from ..errors import ConfigError, NaftikoError, ServeError, SpecError, UsageError
from ..exposes import ADAPTERS, adapter_kind
from ..observability import status as process
from ..spec import model as m
from ..spec.discovery import discover
from ..spec.findings import Finding
from . import telemetry
from .assemble import Capability, ServedAdapter, build_app, build_runtime, capability, load
from .guard import DEFAULT_MAX_IN_FLIGHT, Draining
from .reload import Swappable
from .telemetry import Telemetry

log = logging.getLogger("naftiko")

DEFAULT_HOST = "127.0.0.1"
#: Where each kind of adapter answers, for the start-up lines.
URL_PATHS = {kind: row.path for kind, row in ADAPTERS.items()}


@dataclass
class BoundAdapter:
    """One adapter to serve: its app, and its listening socket (``None`` for stdio or before binding)."""

    kind: str
    namespace: str
    host: str
    port: int
    url: str
    adapter: ServedAdapter
    capability: Capability
    sock: socket.socket | None = field(default=None, repr=False)
    app: Any = field(default=None, repr=False)

    @property
    def line(self) -> str:
        return f"{self.kind + ' ':<6}{self.namespace}  {self.url}"

    @property
    def what(self) -> str:
        return describe(self.adapter, self.capability.file)


@dataclass(frozen=True)
class Options:
    """The inputs a reload needs to read the files again the way :func:`prepare` did."""

    paths: Sequence[str | Path]
    environ: Mapping[str, str]
    upstreams: Mapping[str, str]
    strict: bool
    timeouts: Timeouts | None
    allow_hosts: Sequence[str]
    policies: PolicySettings | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT


@dataclass
class Plan:
    """What :func:`prepare` found: capabilities, their runtimes, the bound adapters (or the one stdio one)."""

    capabilities: list[Capability]
    adapters: list[BoundAdapter]
    runtimes: dict[str, Runtime] = field(default_factory=dict)
    stdio: BoundAdapter | None = None
    telemetry: Telemetry | None = None
    #: what :func:`prepare` was asked, for reloads
    options: Options | None = None
    #: set when shutdown begins; every adapter's guard reads it
    draining: Draining = field(default_factory=Draining)
    #: schema checks deferred until the adapters listen (``prepare(defer_schema=True)``), and where their
    #: findings go
    pending_schema: list[Callable[[], list[Finding]]] = field(default_factory=list)
    report: Callable[[Finding], None] = field(default=lambda finding: None, repr=False)

    def runtime(self, bound: BoundAdapter) -> Runtime:
        return self.runtimes[bound.capability.file]

    def close(self) -> None:
        for bound in self.adapters:
            if bound.sock is not None:
                bound.sock.close()
                bound.sock = None
        if self.telemetry is not None:
            self.telemetry.close()
            self.telemetry = None


def describe(adapter: m.Exposes, file: str) -> str:
    name = f"'{adapter.namespace}'" if adapter.namespace else f"on port {adapter.port}"
    return f"{adapter.type} adapter {name} ({file})"


def prepare(
    paths: Sequence[str | Path],
    *,
    environ: Mapping[str, str],
    host: str | None = None,
    ports: Mapping[str, int] | None = None,
    upstreams: Mapping[str, str] | None = None,
    strict: bool = False,
    stdio: bool = False,
    timeouts: Timeouts | None = None,
    policies: PolicySettings | None = None,
    allow_hosts: Sequence[str] = (),
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    on_finding: Callable[[Finding], None] | None = None,
    reuse_port: bool = False,
    defer_schema: bool = False,
) -> Plan:
    """Load, resolve binds against ``environ``, plan, build the apps, bind. Raises a NaftikoError.

    ``defer_schema`` leaves the check of each file against the JSON Schema (warnings only, so it never
    stops start-up unless ``strict``) to :func:`.run.run`, which reports its findings once the adapters
    listen; it is ignored with ``strict``. A file with errors is reported with its schema findings.
    """
    report = on_finding or (lambda f: log.warning("%s", f.format()))
    results = [load(f, schema=strict or not defer_schema) for f in discover(paths)]
    if strict:
        results = [r.strict() for r in results]
    if any(not r.ok for r in results):
        raise SpecError([f for r in results for f in r.with_schema().findings])
    for result in results:
        for finding in result.findings:
            report(finding)

    upstreams = dict(upstreams or {})
    ports = dict(ports or {})
    documents = [(r.file, r.document) for r in results if r.document is not None]
    consumed = {c.namespace for _, d in documents if d.capability for c in d.capability.consumes}
    exposed = {e.namespace or "" for _, d in documents if d.capability for e in d.capability.exposes}
    _check_known("--upstream", upstreams, consumed, "no capability consumes namespace")
    _check_known("--port", ports, exposed, "no capability exposes namespace")
    if policies is not None:
        known = consumed | {ALL}
        _check_known("upstream settings", policies.entries, known, "no capability consumes namespace")

    capabilities: list[Capability] = []
    for file, document in documents:
        if document.capability is None:
            log.warning("%s has no 'capability' to serve (a shared consumes file?)", file)
            continue
        capabilities.append(capability(file, document, environ, upstreams))
    if not capabilities:
        raise ServeError("no capability to serve")

    plan = _plan(capabilities, host=host, ports=ports, stdio=stdio)
    plan.report = report
    plan.pending_schema = [r.pending_schema for r in results if r.pending_schema is not None]
    for cap in capabilities:
        plan.runtimes[cap.file] = build_runtime(cap, timeouts, policies)
    if plan.stdio is not None:
        return plan
    if not plan.adapters:
        raise ServeError("no adapter to serve")
    _check_shared_ports(plan.adapters)
    plan.options = Options(paths, environ, upstreams, strict, timeouts, allow_hosts, policies, max_in_flight)
    state = process.reset()
    state.capabilities = [_summary(cap) for cap in capabilities]
    plan.telemetry = telemetry.install(capabilities, environ)  # before the apps: they report if observed
    try:
        _build_and_bind(plan, allow_hosts, max_in_flight, reuse_port)
    except BaseException:
        plan.close()
        raise
    state.adapters = [
        process.AdapterState(b.kind, b.namespace, b.url, b.capability.file) for b in plan.adapters
    ]
    return plan


def _summary(cap: Capability) -> dict[str, Any]:
    info = cap.document.info
    return {"file": cap.file, "label": info.label if info else None, "specVersion": cap.document.naftiko}


def _build_and_bind(plan: Plan, allow_hosts: Sequence[str], max_in_flight: int, reuse_port: bool) -> None:
    for bound in plan.adapters:  # every app is built before any socket is bound
        try:
            bound.app = Swappable(
                build_app(
                    bound.adapter,
                    plan.runtime(bound),
                    host=bound.host,
                    port=bound.port,
                    allow_hosts=allow_hosts,
                    max_in_flight=max_in_flight,
                    draining=plan.draining,
                )
            )
        except NaftikoError as exc:
            raise ConfigError(f"{bound.what}: {exc}") from exc
    _bind_all(plan.adapters, reuse_port=reuse_port)


def _plan(capabilities: list[Capability], *, host: str | None, ports: Mapping[str, int], stdio: bool) -> Plan:
    """Which adapters to serve, where; with ``stdio``, the one MCP adapter to serve on stdin/stdout."""
    plan = Plan(capabilities, [])
    stdio_adapters: list[BoundAdapter] = []
    http_mcp: list[BoundAdapter] = []
    for cap in capabilities:
        for adapter in cap.exposes:
            what = describe(adapter, cap.file)
            kind = adapter_kind(adapter)
            if kind is None:
                continue  # reported at load, where it is declared (check_adapters)
            namespace = adapter.namespace or ""
            if kind.wants_stdio(adapter):
                if stdio:
                    stdio_adapters.append(BoundAdapter(kind.type, namespace, "", 0, "stdio", adapter, cap))
                else:
                    log.warning("%s uses the stdio transport: start with --stdio to serve it", what)
            elif stdio:
                if kind.stdio is not None:
                    http_mcp.append(BoundAdapter(kind.type, namespace, "", 0, "stdio", adapter, cap))
                else:
                    log.warning("%s is not served with --stdio", what)
            else:
                port = ports.get(namespace, adapter.port or 0)
                bind_host = getattr(adapter, "address", None) or host or DEFAULT_HOST
                plan.adapters.append(BoundAdapter(kind.type, namespace, bind_host, port, "", adapter, cap))
    if stdio:
        # the capability's stdio MCP adapter; failing that, its one MCP adapter, served on stdio instead
        chosen = stdio_adapters or http_mcp
        if len(capabilities) != 1 or len(chosen) != 1:
            raise UsageError(
                f"--stdio serves exactly one capability with one MCP adapter; found "
                f"{len(capabilities)} capabilities and {len(chosen)} candidate MCP adapters"
            )
        if not stdio_adapters:
            log.info("%s: serving it on stdin/stdout", chosen[0].what)
        plan.stdio = chosen[0]
    return plan


def _check_known(option: str, given: Mapping[str, Any], known: set[str], message: str) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise UsageError(f"{option}: {message} {', '.join(repr(u) for u in unknown)} (known: {listed})")


def _check_shared_ports(adapters: Sequence[BoundAdapter]) -> None:
    by_port: dict[int, list[BoundAdapter]] = {}
    for bound in adapters:
        if bound.port:
            by_port.setdefault(bound.port, []).append(bound)
    clashes = [
        f"port {port} is wanted by " + " and ".join(b.what for b in group)
        for port, group in sorted(by_port.items())
        if len(group) > 1
    ]
    if clashes:
        raise ServeError("; ".join(clashes) + " (give one of them another port with --port NAMESPACE=PORT)")


def listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_all(adapters: Sequence[BoundAdapter], *, reuse_port: bool = False) -> None:
    """Bind every socket, so that a port in use stops start-up before anything serves."""
    failures: list[str] = []
    for bound in adapters:
        try:
            bound.sock = listen(bound.host, bound.port, reuse_port=reuse_port)
        except OSError as exc:
            reason = {errno.EADDRINUSE: "address already in use", errno.EACCES: "permission denied"}.get(
                exc.errno or 0, exc.strerror or str(exc)
            )
            failures.append(f"{bound.what} cannot listen on {bound.host}:{bound.port}: {reason}")
            continue
        bound.port = bound.sock.getsockname()[1]
        shown = f"[{bound.host}]" if ":" in bound.host else bound.host
        bound.url = f"http://{shown}:{bound.port}{URL_PATHS.get(bound.kind, '/')}"
    if failures:
        for bound in adapters:
            if bound.sock is not None:
                bound.sock.close()
                bound.sock = None
        raise ServeError("; ".join(failures))


__all__ = ["DEFAULT_HOST", "BoundAdapter", "Options", "Plan", "describe", "discover", "listen", "prepare"]
