"""``naftiko serve``: load capability files and run every exposes adapter on its port.

Start-up happens in two steps so that every mistake is reported before anything listens:

1. :func:`prepare` (synchronous): find and load the files, resolve binds, plan one listener per adapter and
   bind every socket. A load error, a bind that cannot resolve, a port in use or two adapters on one port
   stop here.
2. :func:`run` (async): one :class:`~.engine.Runtime` per capability, one app per adapter wrapped in its
   inbound authentication and the access-log middleware, one uvicorn ``Server`` per socket, all on one
   event loop. SIGINT/SIGTERM stop accepting, let in-flight requests finish (up to
   ``SHUTDOWN_GRACE_SECONDS``) and close upstream pools.

``--workers N`` forks N processes after step 1; each runs step 2 on the inherited sockets.
:func:`serve` is both steps for in-process use; :func:`serve_command` is the thin CLI layer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from .binds import Bindings, parse_dotenv, resolve_binds
from .consumes.http import Timeouts
from .errors import BindingError, NaftikoError, SpecError
from .spec import model as m
from .spec.findings import Finding
from .spec.loader import load_file

if TYPE_CHECKING:
    import uvicorn

    from .engine import Runtime
    from .exposes import AppBuilder

# The CLI builds its parser from this module for every command, so the server stack (uvicorn, aiohttp,
# Starlette) is imported only when something is served.

log = logging.getLogger("naftiko")

SHUTDOWN_GRACE_SECONDS = 10.0
DEFAULT_HOST = "127.0.0.1"
#: Where each kind of adapter answers, for the start-up lines.
URL_PATHS = {"rest": "/", "mcp": "/mcp"}


class UsageError(NaftikoError):
    """The command line asks for something that cannot be (exit 2)."""


class ServeError(NaftikoError):
    """The capabilities cannot be served as asked: a port is taken or shared, nothing to serve (exit 1)."""


@dataclass(frozen=True)
class Capability:
    """A loaded capability file, its resolved binds and its ``--upstream`` overrides."""

    file: str
    document: m.NaftikoDocument
    bindings: Bindings
    upstreams: Mapping[str, str]


@dataclass
class BoundAdapter:
    """One adapter to serve, with its listening socket (``None`` for stdio)."""

    kind: str
    namespace: str
    host: str
    port: int
    url: str
    adapter: m.ExposesRest | m.ExposesMcp
    capability: Capability
    sock: socket.socket | None = field(default=None, repr=False)

    @property
    def line(self) -> str:
        return f"{self.kind:<6}{self.namespace}  {self.url}"


@dataclass
class Plan:
    """What :func:`prepare` found: the capabilities and their bound adapters (or the one stdio adapter)."""

    capabilities: list[Capability]
    adapters: list[BoundAdapter]
    stdio: BoundAdapter | None = None
    #: extra Host names MCP adapters accept (DNS-rebinding protection admits loopback and the bound address)
    allow_hosts: list[str] = field(default_factory=list)
    timeouts: Timeouts = field(default_factory=Timeouts)

    def close(self) -> None:
        for bound in self.adapters:
            if bound.sock is not None:
                bound.sock.close()


# --- step 1: prepare -----------------------------------------------------------------------------------

_TOP_KEY = re.compile(r"^[\"']?(naftiko|capability)[\"']?[ \t]*:", re.MULTILINE)


def _is_capability_file(path: Path) -> bool:
    """A Naftiko document with a ``capability``; shared consumes files and other YAML are not served."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # let the loader report it
    return {match.group(1) for match in _TOP_KEY.finditer(text)} == {"naftiko", "capability"}


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """The files to serve: each file as given, and the capability files of each folder."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [
                p
                for p in sorted(path.iterdir())
                if p.suffix in (".yaml", ".yml") and p.is_file() and _is_capability_file(p)
            ]
            if not found:
                raise ServeError(f"{path}: no capability files (*.yaml or *.yml with a 'capability') here")
            files.extend(found)
        else:
            files.append(path)
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


def _describe(adapter: m.Exposes, file: str) -> str:
    name = f"'{adapter.namespace}'" if adapter.namespace else f"on port {adapter.port}"
    return f"{adapter.type} adapter {name} ({file})"


def _builder(adapter: m.Exposes) -> AppBuilder | None:
    from .exposes import app_builder

    try:
        return app_builder(adapter)
    except ImportError as exc:
        log.warning("%s adapters cannot be served by this build: %s", adapter.type, exc)
        return None


def prepare(
    paths: Sequence[str | Path],
    *,
    host: str | None = None,
    ports: Mapping[str, int] | None = None,
    upstreams: Mapping[str, str] | None = None,
    strict: bool = False,
    stdio: bool = False,
    environ: Mapping[str, str] | None = None,
    on_finding: Callable[[Finding], None] | None = None,
    reuse_port: bool = False,
) -> Plan:
    """Load, resolve binds, plan and bind. Raises SpecError, BindingError, UsageError or ServeError."""
    report = on_finding or (lambda f: log.warning("%s", f.format()))
    results = [load_file(f) for f in discover(paths)]
    if strict:
        results = [r.strict() for r in results]
    if any(not r.ok for r in results):
        raise SpecError([f for r in results for f in r.findings])
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

    capabilities: list[Capability] = []
    for file, document in documents:
        if document.capability is None:
            log.warning("%s has no 'capability' to serve (a shared consumes file?)", file)
            continue
        try:
            bindings = resolve_binds(document, environ)
        except BindingError as exc:
            raise BindingError(f"{file}: {exc}") from None
        namespaces = {c.namespace for c in document.capability.consumes}
        capabilities.append(
            Capability(
                file, document, bindings, {ns: url for ns, url in upstreams.items() if ns in namespaces}
            )
        )
    if not capabilities:
        raise ServeError("no capability to serve")

    plan = Plan(capabilities, [])
    stdio_adapters: list[BoundAdapter] = []
    http_mcp: list[BoundAdapter] = []
    for cap in capabilities:
        assert cap.document.capability is not None
        for adapter in cap.document.capability.exposes:
            what = _describe(adapter, cap.file)
            if isinstance(adapter, m.ExposesOther):
                log.warning("%s is not served: this runtime serves rest and mcp adapters", what)
            elif isinstance(adapter, m.ExposesMcp) and adapter.transport == "stdio":
                if stdio:
                    stdio_adapters.append(
                        BoundAdapter("mcp", adapter.namespace, "", 0, "stdio", adapter, cap)
                    )
                else:
                    log.warning("%s uses the stdio transport: start with --stdio to serve it", what)
            elif stdio:
                if isinstance(adapter, m.ExposesMcp):
                    http_mcp.append(BoundAdapter("mcp", adapter.namespace, "", 0, "stdio", adapter, cap))
                else:
                    log.warning("%s is not served with --stdio", what)
            elif _builder(adapter) is not None:
                _check_inbound(adapter, cap, what)
                port = ports.get(adapter.namespace, adapter.port or 0)
                bind_host = adapter.address or host or DEFAULT_HOST
                plan.adapters.append(
                    BoundAdapter(adapter.type, adapter.namespace, bind_host, port, "", adapter, cap)
                )

    if stdio:
        # the capability's stdio MCP adapter; failing that, its one MCP adapter, served on stdio instead
        chosen = stdio_adapters or http_mcp
        if len(capabilities) != 1 or len(chosen) != 1:
            raise UsageError(
                f"--stdio serves exactly one capability with one MCP adapter; found "
                f"{len(capabilities)} capabilities and {len(chosen)} candidate MCP adapters"
            )
        if not stdio_adapters:
            what = _describe(chosen[0].adapter, chosen[0].capability.file)
            log.info("%s: serving it on stdin/stdout", what)
        plan.stdio = chosen[0]
        return plan
    if not plan.adapters:
        raise ServeError("no adapter to serve")
    _check_shared_ports(plan.adapters)
    _bind_all(plan.adapters, reuse_port=reuse_port)
    return plan


def _check_inbound(adapter: m.ExposesRest | m.ExposesMcp, cap: Capability, what: str) -> None:
    """Refuse, before anything listens, an inbound authentication that cannot be enforced."""
    if adapter.authentication is None:
        return
    from .inbound import protect

    try:
        protect(_nothing, adapter, cap.bindings.scopes)
    except (ValueError, NaftikoError) as exc:
        raise ServeError(f"{what}: {exc}") from None


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    return None


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
        f"port {port} is wanted by " + " and ".join(_describe(b.adapter, b.capability.file) for b in group)
        for port, group in sorted(by_port.items())
        if len(group) > 1
    ]
    if clashes:
        raise ServeError("; ".join(clashes) + " (give one of them another port with --port NAMESPACE=PORT)")


def _listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
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
    """Bind every socket up front, so that a port in use stops start-up before anything serves."""
    failures: list[str] = []
    for bound in adapters:
        try:
            bound.sock = _listen(bound.host, bound.port, reuse_port=reuse_port)
        except OSError as exc:
            reason = {errno.EADDRINUSE: "address already in use", errno.EACCES: "permission denied"}.get(
                exc.errno or 0, exc.strerror or str(exc)
            )
            failures.append(
                f"{_describe(bound.adapter, bound.capability.file)} cannot listen on "
                f"{bound.host}:{bound.port}: {reason}"
            )
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


# --- step 2: run ---------------------------------------------------------------------------------------


@cache
def _server_class() -> type[uvicorn.Server]:
    import uvicorn

    class Server(uvicorn.Server):
        """Signals are handled once for all the adapters of the process (see :func:`_signals`).

        uvicorn's own capture would make each server replace the previous one's handler, then re-raise the
        signal on exit, killing the process with a non-zero status.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


def _server(app: Any) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="auto",
        server_header=False,
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_SECONDS),
    )
    return _server_class()(config)


@contextlib.contextmanager
def _signals(servers: Sequence[Any], stop: asyncio.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop``; a second SIGINT cuts the grace period short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            if sig == signal.SIGINT:
                for server in servers:
                    server.force_exit = True
            return
        log.info(
            "%s: finishing in-flight requests (up to %g s), then stopping", sig.name, SHUTDOWN_GRACE_SECONDS
        )
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def announce(adapters: Sequence[BoundAdapter], workers: int = 1) -> None:
    for bound in adapters:
        log.info("%s", bound.line)
    more = f" in {workers} worker processes" if workers > 1 else ""
    log.info("ready: %d adapter%s%s (Ctrl+C to stop)", len(adapters), "" if len(adapters) == 1 else "s", more)


async def run(
    plan: Plan,
    *,
    ready: Callable[[list[BoundAdapter]], None] | None = None,
    stop: asyncio.Event | None = None,
    quiet: bool = False,
) -> None:
    """Serve a prepared plan until ``stop`` is set or a signal arrives."""
    from .engine import Runtime
    from .exposes import app_builder
    from .inbound import protect
    from .observability import access

    stop = stop or asyncio.Event()
    runtimes: dict[int, Runtime] = {}
    try:
        servers = []
        for bound in plan.adapters:
            cap = bound.capability
            runtime = runtimes.get(id(cap))
            if runtime is None:
                runtime = runtimes[id(cap)] = Runtime(
                    cap.document, cap.bindings, upstreams=cap.upstreams, timeouts=plan.timeouts
                )
                await runtime.start()
            builder = app_builder(bound.adapter)
            assert builder is not None
            extra: dict[str, Any] = {}
            if isinstance(bound.adapter, m.ExposesMcp) and plan.allow_hosts:
                patterns = [p for h in plan.allow_hosts for p in (h, f"{h}:*")]
                extra["allowed_hosts"] = patterns
                extra["allowed_origins"] = [f"{s}://{p}" for p in patterns for s in ("http", "https")]
            app = builder(bound.adapter, runtime, host=bound.host, port=bound.port, **extra)
            app = protect(app, bound.adapter, runtime.bind_scopes)
            if access.wanted():  # no access log and no observer: no per-request bookkeeping
                app = access.AccessLog(app, bound.namespace)
            servers.append(_server(app))
        with _signals(servers, stop):
            tasks = [
                asyncio.create_task(server.serve(sockets=[bound.sock] if bound.sock else None))
                for server, bound in zip(servers, plan.adapters, strict=True)
            ]
            try:
                while not all(server.started for server in servers):
                    failed = next((t for t in tasks if t.done()), None)
                    if failed is not None:
                        failed.result()
                        raise ServeError("an adapter stopped while starting")
                    await asyncio.sleep(0.01)
                if not quiet:
                    announce(plan.adapters)
                if ready is not None:
                    ready(plan.adapters)
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
            finally:
                for server in servers:
                    server.should_exit = True
                results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        log.info("stopped")
    finally:
        for runtime in runtimes.values():
            await runtime.close()


async def run_stdio(plan: Plan) -> None:
    """Serve the one stdio MCP adapter: stdout carries the protocol, logs go to stderr."""
    bound = plan.stdio
    assert bound is not None and isinstance(bound.adapter, m.ExposesMcp)
    from .engine import Runtime
    from .exposes.mcp import run_stdio as mcp_stdio

    cap = bound.capability
    runtime = Runtime(cap.document, cap.bindings, upstreams=cap.upstreams, timeouts=plan.timeouts)
    async with runtime:
        log.info("%s", bound.line)
        await mcp_stdio(bound.adapter, runtime)


async def serve(
    paths: Sequence[str | Path],
    *,
    host: str | None = None,
    ports: Mapping[str, int] | None = None,
    upstreams: Mapping[str, str] | None = None,
    strict: bool = False,
    environ: Mapping[str, str] | None = None,
    ready: Callable[[list[BoundAdapter]], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve capability files in this process until ``stop`` is set (or SIGINT/SIGTERM in the main thread)."""
    plan = prepare(paths, host=host, ports=ports, upstreams=upstreams, strict=strict, environ=environ)
    try:
        await run(plan, ready=ready, stop=stop)
    finally:
        plan.close()


# --- workers -------------------------------------------------------------------------------------------


_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _own_sockets(plan: Plan) -> None:
    """Give this worker its own listening sockets on the same ports (SO_REUSEPORT).

    With one shared socket, the worker that wins the first accepts keeps every keep-alive connection and the
    others idle; with a socket each, the kernel spreads new connections across the workers.
    """
    for bound in plan.adapters:
        if bound.sock is not None:
            inherited = bound.sock
            bound.sock = _listen(bound.host, bound.port, reuse_port=True)
            inherited.close()


def _worker(plan: Plan, conn: Connection, index: int) -> None:
    # forked with SIGINT/SIGTERM blocked and the parent's handlers: until the event loop takes over, a
    # signal ends this worker quietly
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)

    def ready(_: list[BoundAdapter]) -> None:
        conn.send(os.getpid())
        conn.close()

    try:
        if index > 0:  # the first worker keeps the sockets the parent bound, so no connection is dropped
            _own_sockets(plan)
        asyncio.run(run(plan, ready=ready, quiet=True))
    except KeyboardInterrupt:
        pass
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        raise SystemExit(1) from None


def run_workers(plan: Plan, workers: int) -> int:
    """Fork ``workers`` processes that serve the sockets bound by :func:`prepare`; forward signals; wait."""
    context = multiprocessing.get_context("fork")
    stopping = False
    children: list[tuple[Any, Connection]] = []

    def forward(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            log.info("%s: stopping %d workers", signal.Signals(sig).name, len(children))
        stopping = True
        for proc, _ in children:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in _SIGNALS}
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)  # a signal now waits until every worker exists
        try:
            for i in range(workers):
                reader, writer = context.Pipe(duplex=False)
                proc = context.Process(target=_worker, args=(plan, writer, i), name=f"naftiko-worker-{i + 1}")
                proc.start()
                writer.close()
                children.append((proc, reader))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        plan.close()  # the workers hold the sockets now
        started = _wait_ready(children)
        if started:
            announce(plan.adapters, workers)
        elif not stopping:
            log.error("a worker process failed to start; stopping")
            forward(signal.SIGTERM, None)
        for proc, _ in children:
            proc.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    codes = [proc.exitcode for proc, _ in children]
    return 0 if (started or stopping) and all(code == 0 for code in codes) else 1


def _wait_ready(children: Sequence[tuple[Any, Connection]], timeout: float = 60) -> bool:
    """True once every worker said it is serving; False if one exits first (or takes too long)."""
    waiting: dict[Any, Any] = {}
    for proc, reader in children:
        waiting[reader] = proc
        waiting[proc.sentinel] = proc
    pending = {id(proc) for proc, _ in children}
    deadline = time.monotonic() + timeout
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        for handle in wait(list(waiting), timeout=left):
            proc = waiting.pop(handle)
            if isinstance(handle, Connection):
                try:
                    handle.recv()
                except EOFError:
                    return False
                pending.discard(id(proc))
            elif id(proc) in pending:
                return False  # exited before it was ready
        if not waiting:
            break
    return not pending


# --- the command ---------------------------------------------------------------------------------------


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="capability files or folders of them")
    parser.add_argument(
        "--host",
        default=None,
        help="interface to listen on when an adapter sets no address (default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="NAMESPACE=PORT",
        help="listen on PORT for adapter NAMESPACE (0 picks a free port); repeatable",
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAMESPACE=URL",
        help="send consumed namespace NAMESPACE to URL instead of its baseUri; repeatable",
    )
    parser.add_argument(
        "--env-file",
        action="append",
        default=[],
        metavar="FILE",
        help="load KEY=value lines into the environment before binds resolve",
    )
    parser.add_argument("--strict", action="store_true", help="refuse to start on validation warnings")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve with N processes sharing each port (default 1)",
    )
    defaults = Timeouts()
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=defaults.total,
        metavar="SECONDS",
        help="give up on an upstream call after SECONDS (default %(default)g): 504",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=defaults.connect,
        metavar="SECONDS",
        help="give up connecting to an upstream after SECONDS (default %(default)g)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name MCP clients may use besides loopback and the bound address "
        "(DNS-rebinding protection); repeatable",
    )
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="serve the capability's stdio MCP adapter on stdin/stdout (one capability only)",
    )


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            raise UsageError(f"{option} expects NAMESPACE=VALUE, got {value!r}")
        out[key] = rest
    return out


def _ports(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, text in _pairs(values, "--port").items():
        if not text.isdigit() or int(text) > 65535:
            raise UsageError(f"--port {key}={text}: the port must be a number from 0 to 65535")
        out[key] = int(text)
    return out


def _upstreams(values: Sequence[str]) -> dict[str, str]:
    out = _pairs(values, "--upstream")
    for key, url in out.items():
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--upstream {key}={url}: the URL must start with http:// or https://")
    return out


def _load_env_files(files: Sequence[str]) -> None:
    """Variables already in the environment win over the files."""
    for file in files:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise BindingError(f"--env-file {file}: cannot read it ({reason})") from None
        for key, value in parse_dotenv(text).items():
            os.environ.setdefault(key, value)


def configure_logging(level: str) -> None:
    """Everything to stderr; ``naftiko`` loggers at ``level``, libraries at warning unless debugging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s  %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    numeric = logging.getLevelName(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric if numeric == logging.DEBUG else max(numeric, logging.WARNING))
    log.setLevel(numeric)


def serve_command(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    say = _stderr
    try:
        if args.workers < 1:
            raise UsageError("--workers must be at least 1")
        if args.stdio and args.workers > 1:
            raise UsageError("--stdio serves one stdio session: it cannot use --workers")
        ports, upstreams = _ports(args.port), _upstreams(args.upstream)
        if args.upstream_timeout <= 0 or args.connect_timeout <= 0:
            raise UsageError("--upstream-timeout and --connect-timeout must be positive")
        timeouts = Timeouts(connect=args.connect_timeout, total=args.upstream_timeout)
        _load_env_files(args.env_file)
        plan = prepare(
            args.paths,
            host=args.host,
            ports=ports,
            upstreams=upstreams,
            strict=args.strict,
            stdio=args.stdio,
            on_finding=lambda f: say(f.format()),
            reuse_port=args.workers > 1,
        )
        plan.allow_hosts = list(args.allow_host)
        plan.timeouts = timeouts
    except UsageError as exc:
        say(f"naftiko serve: {exc}")
        return 2
    except SpecError as exc:
        for finding in exc.findings:
            say(finding.format())
        files = sorted({f.file for f in exc.findings if f.severity == "error"})
        say(
            f"naftiko serve: not starting: {', '.join(files)} {'has' if len(files) == 1 else 'have'} errors"
            + (" (warnings count as errors with --strict)" if args.strict else "")
        )
        return 1
    except NaftikoError as exc:
        say(f"naftiko serve: {exc}")
        return 1
    try:
        if plan.stdio is not None:
            asyncio.run(run_stdio(plan))
        elif args.workers > 1:
            return run_workers(plan, args.workers)
        else:
            asyncio.run(run(plan))
    except KeyboardInterrupt:
        pass
    except NaftikoError as exc:
        say(f"naftiko serve: {exc}")
        return 1
    finally:
        plan.close()
    return 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


__all__ = [
    "BoundAdapter",
    "Capability",
    "Plan",
    "ServeError",
    "UsageError",
    "add_serve_arguments",
    "discover",
    "prepare",
    "run",
    "run_workers",
    "serve",
    "serve_command",
]
