"""Serving an MCP adapter: Streamable HTTP at ``/mcp`` (stateless, JSON responses, so any number of
processes can serve one adapter), or stdin/stdout.

Over HTTP the fast path (:mod:`.fast`) answers the common POSTs itself; the SDK's session manager (which
negotiates versions, serves everything else) is imported and started only when a request needs it. Stdio
is the SDK's.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ...engine import Runtime
from ...spec import model as m
from .exposer import McpExposer
from .fast import MAX_BODY, FastPath, Guard

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
PATH = "/mcp"


def allowed(
    host: str, port: int, *, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The Host and Origin values admitted against DNS rebinding: loopback, the bound ``host:port`` when it
    is not loopback, and any extra patterns (``name``, ``name:port`` or ``name:*``)."""
    hosts = [*LOOPBACK, *(f"{h}:*" for h in LOOPBACK)]
    origins = [*(f"http://{h}" for h in LOOPBACK), *(f"http://{h}:*" for h in LOOPBACK)]
    bare = host.strip("[]")
    if bare not in ("127.0.0.1", "localhost", "::1"):
        name = f"[{bare}]" if ":" in bare else bare
        where = f"{name}:{port}" if port else f"{name}:*"
        hosts.append(where)
        origins += [f"http://{where}", f"https://{where}"]
    return [*hosts, *allowed_hosts], [*origins, *allowed_origins]


def _sdk_loader(exposer: McpExposer, hosts: list[str], origins: list[str]) -> Any:
    def load() -> tuple[ASGIApp, AbstractAsyncContextManager[Any]]:
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        from .server import sdk_server

        manager = StreamableHTTPSessionManager(
            app=sdk_server(exposer),
            stateless=True,
            json_response=True,
            max_request_body_size=MAX_BODY,
            security_settings=TransportSecuritySettings(
                enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
            ),
        )
        return StreamableHTTPASGIApp(manager), manager.run()

    return load


class _App:
    """``/mcp`` straight to the endpoint (no routing on the hot path); anything else to Starlette (404s,
    the lifespan). GET would open an idle SSE stream in stateless mode, so it is 405."""

    def __init__(self, endpoint: FastPath) -> None:
        self.endpoint = endpoint

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            try:
                yield
            finally:
                await endpoint.close()

        # the route only serves redirects (``/mcp/``); ``/mcp`` itself never reaches Starlette
        self.rest = Starlette(routes=[Route(PATH, endpoint=self)], lifespan=lifespan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.rest(scope, receive, send)
        elif scope["method"] == "GET":
            response = PlainTextResponse(
                "GET is not supported: this MCP endpoint is stateless; POST JSON-RPC",
                status_code=405,
                headers={"Allow": "POST"},
            )
            await response(scope, receive, send)
        else:
            await self.endpoint(scope, receive, send)


def build_mcp_app(
    adapter: m.ExposesMcp,
    runtime: Runtime,
    *,
    host: str,
    port: int,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    fast: bool = True,
) -> ASGIApp:
    """An ASGI app serving the adapter at ``/mcp``.

    ``allowed_hosts``/``allowed_origins`` add to the default Host and Origin allow-lists (see
    :func:`allowed`), e.g. the public name of a server bound to ``0.0.0.0``. ``fast=False`` sends every
    request to the SDK (to compare the two paths).
    """
    exposer = McpExposer(adapter, runtime)
    hosts, origins = allowed(host, port, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins)
    endpoint = FastPath(exposer, Guard(hosts, origins), _sdk_loader(exposer, hosts, origins), enabled=fast)
    return _App(endpoint)


def build(
    adapter: m.ExposesMcp, runtime: Runtime, *, host: str, port: int, allow_hosts: Sequence[str] = ()
) -> ASGIApp:
    """The registry's builder: each extra host name is admitted on any port, as Host and as Origin."""
    patterns = [p for h in allow_hosts for p in (h, f"{h}:*")]
    origins = [f"{s}://{p}" for p in patterns for s in ("http", "https")]
    return build_mcp_app(
        adapter, runtime, host=host, port=port, allowed_hosts=patterns, allowed_origins=origins
    )


async def run_stdio(adapter: m.ExposesMcp, runtime: Runtime) -> None:
    """Serve the adapter on stdin/stdout until stdin closes (logs belong on stderr)."""
    from mcp.server.stdio import stdio_server

    from .server import build_server

    server = build_server(adapter, runtime)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
