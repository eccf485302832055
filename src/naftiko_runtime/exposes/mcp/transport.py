"""Serving an MCP adapter: Streamable HTTP at ``/mcp`` (stateless, JSON responses, so any number of
processes can serve one adapter; the SDK negotiates the protocol version), or stdin/stdout."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ...engine import Runtime
from ...spec import model as m
from .server import build_server

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
PATH = "/mcp"


def transport_security(
    host: str, port: int, *, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """Host and Origin checks against DNS rebinding: loopback, the bound ``host:port`` when it is not
    loopback, and any extra patterns (as the SDK reads them: ``name``, ``name:port`` or ``name:*``)."""
    hosts = [*LOOPBACK, *(f"{h}:*" for h in LOOPBACK)]
    origins = [*(f"http://{h}" for h in LOOPBACK), *(f"http://{h}:*" for h in LOOPBACK)]
    bare = host.strip("[]")
    if bare not in ("127.0.0.1", "localhost", "::1"):
        name = f"[{bare}]" if ":" in bare else bare
        where = f"{name}:{port}" if port else f"{name}:*"
        hosts.append(where)
        origins += [f"http://{where}", f"https://{where}"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *allowed_hosts],
        allowed_origins=[*origins, *allowed_origins],
    )


class _Endpoint:
    """``/mcp``: POSTs go to the SDK; GET would open an idle SSE stream in stateless mode, so it is 405."""

    def __init__(self, app: StreamableHTTPASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = PlainTextResponse(
                "GET is not supported: this MCP endpoint is stateless; POST JSON-RPC",
                status_code=405,
                headers={"Allow": "POST"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_mcp_app(
    adapter: m.ExposesMcp,
    runtime: Runtime,
    *,
    host: str,
    port: int,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
) -> Starlette:
    """A Starlette app serving the adapter at ``/mcp``; its lifespan runs the SDK's session manager.

    ``allowed_hosts``/``allowed_origins`` add to the default Host and Origin allow-lists (see
    :func:`transport_security`), e.g. the public name of a server bound to ``0.0.0.0``.
    """
    server = build_server(adapter, runtime)
    manager = StreamableHTTPSessionManager(
        app=server,
        stateless=True,
        json_response=True,
        security_settings=transport_security(
            host, port, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(
        routes=[Route(PATH, endpoint=_Endpoint(StreamableHTTPASGIApp(manager)))], lifespan=lifespan
    )


def build(
    adapter: m.ExposesMcp, runtime: Runtime, *, host: str, port: int, allow_hosts: Sequence[str] = ()
) -> Starlette:
    """The registry's builder: each extra host name is admitted on any port, as Host and as Origin."""
    patterns = [p for h in allow_hosts for p in (h, f"{h}:*")]
    origins = [f"{s}://{p}" for p in patterns for s in ("http", "https")]
    return build_mcp_app(
        adapter, runtime, host=host, port=port, allowed_hosts=patterns, allowed_origins=origins
    )


async def run_stdio(adapter: m.ExposesMcp, runtime: Runtime) -> None:
    """Serve the adapter on stdin/stdout until stdin closes (logs belong on stderr)."""
    server = build_server(adapter, runtime)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
