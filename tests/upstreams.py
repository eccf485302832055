"""Small upstream servers for wire tests: ``echo`` reports exactly what it received."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


async def _echo(request: Request) -> Response:
    raw = await request.body()
    body: Any
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    status = int(request.headers.get("x-echo-status", "200"))
    delay = float(request.headers.get("x-echo-delay", "0"))
    if delay:
        await asyncio.sleep(delay)
    payload = {
        "method": request.method,
        "path": request.scope["raw_path"].decode("latin-1"),
        "query": request.scope["query_string"].decode("latin-1"),
        "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]},
        "body": body,
        "body_b64": base64.b64encode(raw).decode("ascii"),
    }
    return JSONResponse(payload, status_code=status)


def echo_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", _echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


def scripted_app(responses: dict[str, tuple[int, str, str]]) -> Starlette:
    """Answers ``path -> (status, content type, body)``; anything else is 404 JSON."""

    async def handler(request: Request) -> Response:
        hit = responses.get(request.url.path)
        if hit is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        status, ctype, body = hit
        if ctype == "close":
            transport = request.scope.get("transport")
            raise ConnectionResetError("dropped on purpose") if transport is None else ConnectionResetError()
        return Response(body, status_code=status, media_type=ctype)

    return Starlette(
        routes=[Route("/{path:path}", handler, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
    )


__all__ = ["echo_app", "scripted_app", "PlainTextResponse"]
