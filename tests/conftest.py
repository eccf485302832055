"""Shared fixtures: the upstreams tests talk to, and capabilities served the way ``naftiko serve`` serves them.

Every app under test is built by the server's composition root (``naftiko_runtime.server.assemble``), so
the tests exercise the same wiring as ``naftiko serve``: binds resolved against an explicit environment,
one runtime per capability, the adapter's app behind its inbound authentication and the access log.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.engine import Runtime
from naftiko_runtime.server import BoundAdapter, serve
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.server.plan import URL_PATHS
from naftiko_runtime.server.run import run_async
from naftiko_runtime.spec import model as m

from .support import run_asgi
from .upstreams import echo_app


@pytest.fixture(scope="session")
def echo() -> Iterator[str]:
    """The echo upstream (``tests/upstreams.py``): it answers with what it received."""
    with run_asgi(echo_app()) as url:
        yield url


# --- one adapter, in this process --------------------------------------------------------------------------


def owning(app: Any, runtime: Runtime) -> Any:
    """Open the runtime's upstream pools on the serving loop, and close them there at shutdown."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def receive_and_manage() -> Any:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await runtime.start()
            elif message["type"] == "lifespan.shutdown":
                await runtime.close()
            return message

        await app(scope, receive_and_manage, send)

    return wrapped


@contextlib.contextmanager
def serve_app(app: Any, runtime: Runtime) -> Iterator[str]:
    """Serve an app built over ``runtime`` on an ephemeral loopback port; yield its base URL."""
    with run_asgi(owning(app, runtime)) as url:
        yield url


class ServeAdapter(Protocol):
    def __call__(
        self,
        document: m.NaftikoDocument,
        environ: Mapping[str, str],
        upstreams: Mapping[str, str] | None = None,
        *,
        kind: str = "rest",
        timeouts: Timeouts | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_hosts: Sequence[str] = (),
    ) -> contextlib.AbstractContextManager[str]: ...


@contextlib.contextmanager
def _serve_adapter(
    document: m.NaftikoDocument,
    environ: Mapping[str, str],
    upstreams: Mapping[str, str] | None = None,
    *,
    kind: str = "rest",
    timeouts: Timeouts | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_hosts: Sequence[str] = (),
) -> Iterator[str]:
    cap = capability(document.file, document, environ, upstreams)
    runtime = build_runtime(cap, timeouts)
    adapter = next(a for a in cap.exposes if a.type == kind)
    assert isinstance(adapter, m.ExposesRest | m.ExposesMcp)
    app = build_app(adapter, runtime, host=host, port=port, allow_hosts=allow_hosts)
    with serve_app(app, runtime) as url:
        yield url.rstrip("/") + URL_PATHS[kind].rstrip("/")


@pytest.fixture(scope="session")
def serve_adapter() -> ServeAdapter:
    """``with serve_adapter(document, environ, upstreams, kind="mcp") as url``: the document's first adapter
    of that kind, served on loopback (``host``/``port`` are what the app is told it is bound to); the URL
    is where the adapter answers (``/mcp`` for MCP)."""
    return _serve_adapter


# --- ``serve`` itself, in a thread ----------------------------------------------------------------------------


class ServeFiles(Protocol):
    def __call__(
        self, paths: Sequence[str | Path], **options: Any
    ) -> contextlib.AbstractContextManager[list[BoundAdapter]]: ...


@contextlib.contextmanager
def _serve_files(paths: Sequence[str | Path], **options: Any) -> Iterator[list[BoundAdapter]]:
    started: list[BoundAdapter] = []
    failure: list[BaseException] = []
    up = threading.Event()
    control: dict[str, Any] = {}

    def ready(adapters: list[BoundAdapter]) -> None:
        started.extend(adapters)
        control["loop"] = asyncio.get_running_loop()
        up.set()

    async def main() -> None:
        control["stop"] = stop = asyncio.Event()
        try:
            await serve(paths, ready=ready, stop=stop, **{"environ": {}, **options})
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)
            up.set()

    thread = threading.Thread(target=run_async, args=(main(),), daemon=True)
    thread.start()
    assert up.wait(15), f"{', '.join(map(str, paths))} did not start"
    if failure:
        thread.join(15)
        raise failure[0]
    try:
        yield started
    finally:
        control["loop"].call_soon_threadsafe(control["stop"].set)
        thread.join(15)


@pytest.fixture(scope="session")
def serve_files() -> ServeFiles:
    """``with serve_files(paths, upstreams=..., environ=...) as adapters``: ``naftiko_runtime.server.serve`` in
    a thread until the block ends (``environ`` defaults to an empty environment)."""
    return _serve_files
