"""``--workers N``: N forked processes serve the sockets the parent bound; the parent forwards signals.

Each worker runs :func:`.run.run` on its copy of the plan (apps already built before the fork). The first
keeps the inherited sockets, so no connection is dropped; every other one listens on its own
``SO_REUSEPORT`` socket on the same port, so the kernel spreads new connections across the workers (with
one shared socket, the worker that wins the first accepts keeps every keep-alive connection).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from types import FrameType
from typing import Any

from .plan import BoundAdapter, Plan, listen
from .run import announce, run, run_async

log = logging.getLogger("naftiko")

_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _own_sockets(plan: Plan) -> None:
    for bound in plan.adapters:
        if bound.sock is not None:
            inherited = bound.sock
            bound.sock = listen(bound.host, bound.port, reuse_port=True)
            inherited.close()


def _worker(plan: Plan, conn: Connection, index: int) -> None:
    # forked with SIGINT/SIGTERM blocked and the parent's handlers: until the event loop takes over, a
    # signal ends this worker quietly
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the serving loop handles it (a reload)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)

    def ready(_: list[BoundAdapter]) -> None:
        conn.send(os.getpid())
        conn.close()

    try:
        if index > 0:
            _own_sockets(plan)
        run_async(run(plan, ready=ready, quiet=True))
    except KeyboardInterrupt:
        pass
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        raise SystemExit(1) from None


def run_workers(plan: Plan, workers: int) -> int:
    """Fork ``workers`` processes that serve the sockets bound by ``prepare``; forward signals; wait.

    Returns the exit status: 0 when every worker started and stopped cleanly (or was asked to stop).
    """
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

    def hangup(sig: int, frame: FrameType | None) -> None:
        log.info("SIGHUP: each of the %d workers reloads", len(children))
        for proc, _ in children:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGHUP)

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
            previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, hangup)
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


__all__ = ["run_workers"]
