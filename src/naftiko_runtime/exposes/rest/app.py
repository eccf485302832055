"""The REST adapter's ASGI app: everything is compiled in :func:`build_rest_app` (the route table, one
:class:`~naftiko_runtime.engine.Invocation` per operation, the input readers and the OpenAPI document),
so a request costs a path split, dict lookups, input extraction and the call."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ...engine import Runtime
from ...spec import model as m
from .docs import Pages
from .endpoint import compile_endpoint
from .forward import Forward
from .openapi import build_openapi
from .responses import Responder, problem
from .routes import Group, Routes, compile_route

log = logging.getLogger("naftiko.rest")


def build_rest_app(
    adapter: m.ExposesRest, runtime: Runtime, *, host: str, port: int, allow_hosts: Sequence[str] = ()
) -> RestApp:
    """The ASGI app serving ``adapter``: its resources, and its OpenAPI description at ``/openapi.json``.

    ``allow_hosts`` is accepted for a uniform signature: a REST adapter does not check ``Host``.
    """
    groups: dict[tuple[str, bool], Group] = {}
    for resource in adapter.resources:
        forward = resource.forward
        if forward is not None and forward.target_namespace not in runtime.consumers:
            forward = None  # reported at load: the target is not a consumes namespace
        segments, names, greedy = compile_route(resource.path_template, greedy_tail=forward is not None)
        shape = "/".join(s if isinstance(s, str) else "{" + s.pattern + "}" for s in segments)
        group = groups.get((shape, greedy))
        if group is None:
            group = groups[(shape, greedy)] = Group(resource.path_template, segments, greedy)
        for op in resource.operations:
            group.endpoints.setdefault(op.method, compile_endpoint(adapter, runtime, resource, op, names))
        if forward is not None and group.forward is None:
            group.forward = Forward(runtime, forward, resource.path_template)

    openapi = build_openapi(adapter, runtime.document, host=host, port=port, bind_scopes=runtime.bind_scopes)
    document = json.dumps(openapi, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return RestApp(Routes(list(groups.values())), document, Pages(adapter.namespace, openapi))


class RestApp:
    """The adapter's ASGI app: the compiled routes, ``/openapi.json``, the index at ``/`` and the docs at
    ``/docs`` (where the capability has no route of its own), and a last-resort 500.

    A plain ASGI callable rather than a Starlette app: the routes already match on their own, so the
    middleware stack and router a Starlette app wraps around them would only add work to every request.
    """

    def __init__(self, routes: Routes, openapi: bytes, pages: Pages) -> None:
        self.routes = routes
        self.openapi = Response(openapi, media_type="application/json")
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            return
        try:
            matched = self.routes.match(scope)
            if matched is not None:
                response = await self.routes.respond(scope, receive, matched)
            else:
                response = self._elsewhere(scope)
        except Exception:
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            response = problem(500, "Internal server error", "the server log has the details")
        await response(scope, receive, send)

    def _elsewhere(self, scope: Scope) -> Responder:
        """What a path no route matches gets: the OpenAPI document, the index, the docs, or a 404."""
        path, reading = scope["path"], scope["method"] in ("GET", "HEAD")
        page = self.pages.page(path)
        if path in ("/openapi.json", "/") or page is not None:
            if not reading:
                detail = f"{scope['method']} is not allowed here (allowed: GET)"
                return problem(405, "Method not allowed", detail, headers={"Allow": "GET"})
            if path == "/":
                return self.pages.index(_header(scope, b"accept"))
            return page or self.openapi
        raw = scope.get("raw_path")
        shown = raw.decode("latin-1") if raw else scope["path"]
        return problem(404, "Not found", f"no resource at {shown}")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
