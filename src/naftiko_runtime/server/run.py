"""Start-up, step 2: serve a prepared :class:`~.plan.Plan` until asked to stop.

One uvicorn ``Server`` per bound socket, all on one event loop (uvloop, with httptools parsing HTTP, when
they are installed; the stdlib loop and h11 otherwise). SIGINT/SIGTERM stop accepting, let in-flight
requests finish (up to ``SHUTDOWN_GRACE_SECONDS``) and close the upstream pools; a second SIGINT cuts the
grace period short.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import logging
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..consumes.http import Timeouts
from ..errors import ServeError
from ..exposes import adapter_kind
from ..observability import status as process
from ..spec.findings import Finding
from .plan import BoundAdapter, Plan, prepare
from .protocol import protocol_options
from .reload import Reloader, Swappable

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("naftiko")

SHUTDOWN_GRACE_SECONDS = 10.0

#: the garbage collector's youngest-generation threshold while serving (CPython's is 700). A request in
#: flight holds a hundred or so tracked objects (its scope and messages, coroutines, the upstream call's
#: state), so with a few dozen requests in flight the default starts a collection every few requests.
#: Serving makes no reference cycles to free (measured: those collections freed nothing), yet each walks
#: the young objects, and every hundredth or so every object of the process: about 20 µs of CPU per
#: request on the seed's REST route at 16 clients; at 64, a threshold of 10,000 still left 12 µs of it.
#: The other generations keep their thresholds.
GC_YOUNG_THRESHOLD = 50_000

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed (it comes with ``uvicorn[standard]``), else the stdlib's."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def http_protocol() -> str:
    """httptools when it is installed (``uvicorn[standard]``), else h11."""
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the loop of :func:`loop_factory`."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


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


def uvicorn_server(app: Any, **options: Any) -> uvicorn.Server:
    """A uvicorn server for ``app``: no logging of its own (the access log is ours), a gentle shutdown, no
    WebSocket protocol (no adapter speaks it; uvicorn would import a WebSocket library for nothing), and
    no proxy-header middleware: nothing in the runtime reads the client address or the scheme it would
    rewrite from ``X-Forwarded-*``, and it would look at every request's headers for them."""
    import uvicorn

    options.setdefault("lifespan", "auto")
    config = uvicorn.Config(
        app,
        **protocol_options(http_protocol()),
        ws="none",
        proxy_headers=False,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_SECONDS),
        **options,
    )
    return _server_class()(config)


@contextlib.contextmanager
def _signals(servers: Sequence[Any], stop: asyncio.Event, reload: Reloader | None = None) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop``; a second SIGINT cuts the grace period short; SIGHUP reloads."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    reloading: set[asyncio.Task[Any]] = set()

    def on_hangup() -> None:
        if reload is not None and not stop.is_set():
            log.info("SIGHUP: reloading the capability files")
            task = loop.create_task(reload())
            reloading.add(task)
            task.add_done_callback(reloading.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hangup)

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
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


@contextlib.contextmanager
def _serving_gc() -> Iterator[None]:
    """:data:`GC_YOUNG_THRESHOLD` while serving; the process's own thresholds again afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(max(GC_YOUNG_THRESHOLD, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


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
    watch: bool = False,
) -> None:
    """Serve a prepared plan until ``stop`` is set or a signal arrives; ``watch``: reload on file changes."""
    stop = stop or asyncio.Event()
    reloader = Reloader(plan)
    process.current().reloader = reloader
    watcher: asyncio.Task[None] | None = None
    try:
        for bound in plan.adapters:
            await bound.app.start()  # the apps' lifespans (the MCP session manager) run here, not in uvicorn
        servers = [uvicorn_server(bound.app, lifespan="off") for bound in plan.adapters]
        if watch and plan.options is not None:
            watcher = asyncio.create_task(watch_files(plan.options.paths, reloader, stop))
        with _signals(servers, stop, reloader), _serving_gc():
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
                await complete_start(plan)  # the adapters answer meanwhile
                state = process.current()
                for adapter in state.adapters:
                    adapter.state = "started"
                state.ready = True  # every adapter listens and every upstream pool is open
                if not quiet:
                    announce(plan.adapters)
                if ready is not None:
                    ready(plan.adapters)
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
            finally:
                process.current().ready = False  # draining: no new traffic, please
                plan.draining.begin()
                for server in servers:
                    server.should_exit = True
                results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        log.info("stopped")
    finally:
        if watcher is not None:
            watcher.cancel()
        await reloader.drain()
        for bound in plan.adapters:
            if isinstance(bound.app, Swappable):
                await bound.app.stop()
        for adapter in process.current().adapters:
            adapter.state = "stopped"
        for runtime in plan.runtimes.values():
            await runtime.close()


async def complete_start(plan: Plan) -> None:
    """What waits until the adapters listen: the deferred schema checks (their findings are reported
    here) and the upstream pools. The HTTP client (aiohttp and its TLS contexts, about a quarter of a
    second) is imported and the schema walked on a worker thread, so the adapters answer meanwhile; a
    call that needs an upstream before the pools are open waits for the import to finish."""
    with _responsive():
        findings = await asyncio.to_thread(_off_the_loop, plan)
    plan.pending_schema = []
    for finding in findings:
        plan.report(finding)
    for runtime in plan.runtimes.values():
        await runtime.start()


@contextlib.contextmanager
def _responsive() -> Iterator[None]:
    """While a worker thread imports and walks, the loop gets the GIL back within half a millisecond
    instead of the default five: each request the adapters answer meanwhile waits for it several times."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, 0.0005))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _off_the_loop(plan: Plan) -> list[Finding]:
    importlib.import_module("naftiko_runtime.consumes.pool")
    return [finding for check in plan.pending_schema for finding in check()]


async def watch_files(paths: Sequence[str | Path], reload: Reloader, stop: asyncio.Event) -> None:
    """``naftiko serve --reload``: reload whenever a YAML file under ``paths`` changes (development)."""
    import watchfiles

    folders = {Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent for p in paths}

    def yaml(change: watchfiles.Change, path: str) -> bool:
        return path.endswith((".yaml", ".yml"))

    # folders, not files: editors save by replacing the file, which ends a watch on the file itself
    async for changes in watchfiles.awatch(*folders, watch_filter=yaml, stop_event=stop, debounce=200):
        log.info("changed: %s; reloading", ", ".join(sorted({c[1] for c in changes})))
        await reload()


async def run_stdio(plan: Plan) -> None:
    """Serve the one stdio MCP adapter: stdout carries the protocol, logs go to stderr."""
    bound = plan.stdio
    assert bound is not None
    kind = adapter_kind(bound.adapter)
    assert kind is not None and kind.stdio is not None

    for finding in _off_the_loop(plan):  # nothing answers before stdin is read: no need to wait
        plan.report(finding)
    plan.pending_schema = []
    async with plan.runtime(bound) as runtime:
        log.info("%s", bound.line)
        await kind.stdio(bound.adapter, runtime)


async def serve(
    paths: Sequence[str | Path],
    *,
    environ: Mapping[str, str],
    host: str | None = None,
    ports: Mapping[str, int] | None = None,
    upstreams: Mapping[str, str] | None = None,
    strict: bool = False,
    timeouts: Timeouts | None = None,
    ready: Callable[[list[BoundAdapter]], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve capability files in this process until ``stop`` is set (or SIGINT/SIGTERM in the main thread).

    Binds resolve against ``environ`` only (pass ``os.environ`` to use the process's environment).
    """
    plan = prepare(
        paths, environ=environ, host=host, ports=ports, upstreams=upstreams, strict=strict, timeouts=timeouts
    )
    try:
        await run(plan, ready=ready, stop=stop)
    finally:
        plan.close()


__all__ = [
    "SHUTDOWN_GRACE_SECONDS",
    "announce",
    "complete_start",
    "http_protocol",
    "loop_factory",
    "run",
    "run_async",
    "run_stdio",
    "serve",
    "uvicorn_server",
]
