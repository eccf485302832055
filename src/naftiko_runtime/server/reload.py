"""Hot reload: re-read the served files, check them, and swap the new apps in without dropping anything.

Each served adapter's app sits in a :class:`Swappable`, the app its uvicorn server actually serves (on
every connection, old or new). A reload (SIGHUP, ``POST /reload`` on a control adapter, or a file change
under ``naftiko serve --reload``) loads and checks every file, resolves the binds, builds new runtimes and
apps, starts them (pools, the MCP session manager), then points each :class:`Swappable` at its new app.
Requests already running finish on the app they started on; the old runtimes close once their last
request ends (or after ``SHUTDOWN_GRACE_SECONDS``).

A file with errors, a bind that no longer resolves or a change in which adapters are served (a new
adapter, a removed one) is refused: the old version keeps serving, and the findings are logged and shown
by the control adapter's ``/status``. Ports, addresses and observability settings are read at start-up
only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import Runtime
from ..errors import NaftikoError
from ..observability import hooks
from ..observability import status as process
from ..spec.findings import Finding

log = logging.getLogger("naftiko")

SHUTDOWN_GRACE_SECONDS = 10.0


class Lifespan:
    """Drives an ASGI app's lifespan by hand: ``await start()`` ... ``await stop()``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._task = asyncio.create_task(self.app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._answer()
        if answer.get("type") == "lifespan.startup.failed":
            raise NaftikoError(f"an adapter failed to start: {answer.get('message', '')}")

    async def _answer(self) -> dict[str, Any]:
        assert self._task is not None
        getting = asyncio.create_task(self._outbox.get())
        await asyncio.wait([getting, self._task], return_when=asyncio.FIRST_COMPLETED)
        if getting.done():
            return getting.result()
        getting.cancel()
        self._task.result()  # the app ended: re-raise what ended it
        return {"type": "lifespan.startup.complete"}  # an app that ignores lifespans

    async def stop(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        with contextlib.suppress(Exception):
            await self._answer()
            await asyncio.wait_for(self._task, SHUTDOWN_GRACE_SECONDS)


@dataclass
class _Generation:
    app: Any
    lifespan: Lifespan
    in_flight: int = 0
    #: set once retired, when its last request ends (nobody waits for a generation still serving)
    idle: asyncio.Event | None = None


class Swappable:
    """The ASGI app a server serves: it forwards each request to the current generation of the adapter's
    app, and runs the lifespans itself (serve it with uvicorn's lifespan off)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._current: _Generation | None = None

    async def start(self) -> None:
        generation = _Generation(self.app, Lifespan(self.app))
        await generation.lifespan.start()
        self._current = generation

    async def swap(self, app: Any) -> _Generation | None:
        """Start ``app`` and route new requests to it; returns the old generation, to :meth:`retire`."""
        generation = _Generation(app, Lifespan(app))
        await generation.lifespan.start()
        old, self._current, self.app = self._current, generation, app
        return old

    @staticmethod
    async def retire(old: _Generation | None) -> None:
        """Wait for the old generation's requests to end (up to the grace period), then stop it."""
        if old is None:
            return
        if old.in_flight:
            old.idle = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(old.idle.wait(), SHUTDOWN_GRACE_SECONDS)
        await old.lifespan.stop()

    async def stop(self) -> None:
        if self._current is not None:
            await self._current.lifespan.stop()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        generation = self._current
        if generation is None or scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        generation.in_flight += 1
        try:
            await generation.app(scope, receive, send)
        finally:
            generation.in_flight -= 1
            if not generation.in_flight and generation.idle is not None:
                generation.idle.set()


def _refused(detail: str, findings: Sequence[Finding] = ()) -> process.ReloadResult:
    for finding in findings:
        log.warning("%s", finding.format())
    log.error("reload refused, the previous version keeps serving: %s", detail)
    return process.ReloadResult(process.now(), False, detail, [f.as_dict() for f in findings])


class Reloader:
    """Reloads a running :class:`~.plan.Plan` in place; one reload at a time."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    async def __call__(self) -> process.ReloadResult:
        async with self._lock:
            result = await self._reload()
        process.current().last_reload = result
        hooks.reloaded(result.ok)
        return result

    async def _reload(self) -> process.ReloadResult:
        from .assemble import build_app, build_runtime, capability, load
        from .plan import discover

        plan, options = self.plan, self.plan.options
        try:
            results = [load(f) for f in discover(options.paths)]
        except NaftikoError as exc:
            return _refused(str(exc))
        if options.strict:
            results = [r.strict() for r in results]
        if any(not r.ok for r in results):
            errors = [f for r in results for f in r.findings if f.severity == "error"]
            files = sorted({f.file for f in errors})
            return _refused(f"{', '.join(files)} {'has' if len(files) == 1 else 'have'} errors", errors)
        try:
            caps = {
                r.file: capability(r.file, r.document, options.environ, options.upstreams)
                for r in results
                if r.document is not None and r.document.capability is not None
            }
        except NaftikoError as exc:
            return _refused(str(exc))
        wanted = {(b.capability.file, b.kind, b.namespace) for b in plan.adapters}
        found = {(file, a.type, a.namespace) for file, cap in caps.items() for a in cap.exposes}
        if not wanted <= found or {k[0] for k in found} != {k[0] for k in wanted}:
            return _refused("the served adapters changed (added or removed): restart to apply that")
        runtimes: dict[str, Runtime] = {}
        apps: list[Any] = []
        try:
            for file, cap in caps.items():
                runtimes[file] = build_runtime(cap, options.timeouts, options.policies)
            for bound in plan.adapters:
                cap = caps[bound.capability.file]
                adapter = next(
                    a for a in cap.exposes if (a.type, a.namespace) == (bound.kind, bound.namespace)
                )
                apps.append(
                    build_app(
                        adapter,
                        runtimes[bound.capability.file],
                        host=bound.host,
                        port=bound.port,
                        allow_hosts=options.allow_hosts,
                        max_in_flight=options.max_in_flight,
                    )
                )
            for runtime in runtimes.values():
                await runtime.start()
        except NaftikoError as exc:
            for runtime in runtimes.values():
                await runtime.close()
            return _refused(str(exc))
        old_runtimes = dict(plan.runtimes)
        olds = []
        for bound, app in zip(plan.adapters, apps, strict=True):
            olds.append(await bound.app.swap(app))
            bound.capability = caps[bound.capability.file]
        plan.runtimes = runtimes
        task = asyncio.create_task(self._retire(olds, list(old_runtimes.values())))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
        log.info("reloaded %d capability file%s", len(caps), "" if len(caps) == 1 else "s")
        return process.ReloadResult(process.now(), True, f"reloaded {', '.join(sorted(caps))}")

    async def _retire(self, olds: Sequence[Any], runtimes: Sequence[Runtime]) -> None:
        await asyncio.gather(*(Swappable.retire(old) for old in olds))
        for runtime in runtimes:
            await runtime.close()

    async def drain(self) -> None:
        """Let retiring generations finish (at shutdown)."""
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)


__all__ = ["Lifespan", "Reloader", "Swappable"]
