"""The fast path of ``/mcp``: stateless Streamable HTTP POSTs answered with JSON directly, in every served
revision (2025-06-18, 2025-11-25 and the other handshake revisions; 2026-07-28), without the SDK's
transport, dispatcher and models.

Served here: ``tools/call``, ``tools/list``, ``server/discover``, ``initialize`` and notifications (202),
``ping``, ``resources/list``, ``resources/templates/list``, ``resources/read``, ``prompts/list`` and
``prompts/get``. One pass over the headers, one JSON parse, the checks of :mod:`.envelope`, the compiled
call (:class:`~.exposer.McpExposer`, which the SDK path calls too), one serialization. Everything else (a
method not served here, a message not in a plain form, a body that does not parse, other HTTP methods)
goes to the SDK, imported and started on first use; it gets the body already read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...formats.json import dumps
from .envelope import (
    HANDSHAKE,
    LATEST_HANDSHAKE,
    MODERN,
    SERVER_INFO_KEY,
    Headers,
    accepts_json,
    exact_json_content_type,
    ladder,
    plain_message,
    plain_params,
    read_headers,
)
from .exposer import LIST_METHODS, McpExposer
from .wire import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CAPABILITY,
    PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
    ProtocolError,
)

logger = logging.getLogger("naftiko_runtime.exposes.mcp")

MAX_BODY = 4 * 1024 * 1024
#: JSON-RPC error code -> HTTP status on the 2026-07-28 wire (unlisted codes, e.g. internal errors: 200)
MODERN_STATUS = {code: 400 for code in (PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, HEADER_MISMATCH)}
MODERN_STATUS |= {MISSING_CAPABILITY: 400, UNSUPPORTED_PROTOCOL_VERSION: 400, METHOD_NOT_FOUND: 404}
_JSON = [(b"content-type", b"application/json")]

#: starts the SDK's Streamable HTTP endpoint: (its ASGI app, the context its session manager runs in)
SdkLoader = Callable[[], tuple[ASGIApp, AbstractAsyncContextManager[Any]]]
#: a method served per request: (adapter, params, request id) -> result in wire form
Handler = Callable[[McpExposer, dict[str, Any], str | int | None], Awaitable[Any]]


class Guard:
    """Host and Origin checks against DNS rebinding, read as the SDK reads them: an exact value, or a
    ``name:*`` pattern admitting any port; an absent Origin is allowed (non-browser clients)."""

    def __init__(self, hosts: Sequence[str], origins: Sequence[str]) -> None:
        self.hosts = frozenset(hosts)
        self.host_bases = tuple(h[:-1] for h in hosts if h.endswith(":*"))
        self.origins = frozenset(origins)
        self.origin_bases = tuple(o[:-1] for o in origins if o.endswith(":*"))

    def host(self, host: str | None) -> bool:
        if not host:
            return False  # the SDK refuses a request without Host
        return host in self.hosts or host.startswith(self.host_bases)

    def origin(self, origin: str | None) -> bool:
        return not origin or origin in self.origins or origin.startswith(self.origin_bases)


class FastPath:
    """The ASGI endpoint of ``/mcp``. With ``enabled=False`` every request goes to the SDK (the
    differential tests compare the two)."""

    def __init__(
        self, exposer: McpExposer, guard: Guard, load_sdk: SdkLoader, *, enabled: bool = True
    ) -> None:
        self.exposer = exposer
        self.guard = guard
        self.enabled = enabled
        self._load_sdk = load_sdk
        self._sdk: ASGIApp | None = None
        self._sdk_lock: asyncio.Lock | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        #: requests handed to the SDK so far
        self.delegated = 0
        self.stamp = {SERVER_INFO_KEY: exposer.server_info}
        fresh = {"ttlMs": exposer.read_ttl_ms, "cacheScope": exposer.read_scope}
        #: 2026-07-28: the cacheable results computed per call, and their freshness
        self.freshness = {"resources/read": fresh}
        # the methods computed per request, per era (False: the handshake revisions, True: 2026-07-28)
        served: dict[str, Handler] = {"tools/call": _call_tool}
        # the answers that never change, serialized once per era
        legacy: dict[str, Any] = {"tools/list": exposer.list_tools(), "ping": {}}
        if exposer.resources:
            served["resources/read"] = _read_resource
            legacy["resources/list"] = exposer.list_resources()
            legacy["resources/templates/list"] = exposer.list_resource_templates()
        if exposer.prompts:
            served["prompts/get"] = _get_prompt
            legacy["prompts/list"] = exposer.list_prompts()
        self.handlers = {False: served | {"initialize": _initialize}, True: served}
        modern = {k: self._modern(k, v) for k, v in legacy.items() if k != "ping"}
        modern["server/discover"] = self._modern(
            "server/discover",
            {"supportedVersions": [MODERN], "capabilities": exposer.capabilities, **fresh}
            | ({"instructions": exposer.instructions} if exposer.instructions else {}),
        )
        self.static = {False: {k: orjson.dumps(v) for k, v in legacy.items()}}
        self.static[True] = {k: orjson.dumps(v) for k, v in modern.items()}

    def _modern(self, method: str, result: dict[str, Any]) -> dict[str, Any]:
        """A result as the 2026-07-28 wire carries it: cache hints on lists, resultType, serverInfo."""
        if method in LIST_METHODS:
            result = {"ttlMs": self.exposer.list_ttl_ms, "cacheScope": self.exposer.list_scope, **result}
        return {**result, "resultType": "complete", "_meta": self.stamp}

    # --- ASGI -------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST" or not self.enabled:
            await self.delegate(scope, receive, send)
            return
        h = read_headers(scope["headers"])
        if h.content_length is not None and h.content_length.isdigit() and int(h.content_length) > MAX_BODY:
            await _text(send, 413, b"Request body too large")
            return
        body = await _read_body(receive)
        if body is None:
            await _text(send, 413, b"Request body too large")
            return
        modern = h.version is not None and h.version not in HANDSHAKE
        if h.content_type is None or not h.content_type.lower().startswith("application/json"):
            await _text(send, 400, b"Invalid Content-Type header")
        elif not self.guard.host(h.host):
            await _text(send, 421, b"Invalid Host header")
        elif not self.guard.origin(h.origin):
            await _text(send, 403, b"Invalid Origin header")
        elif not accepts_json(h.accept):
            if modern:
                await _send(send, 406, b"", [])
            else:
                message = "Not Acceptable: Client must accept application/json"
                await _send(send, 406, _error(None, INVALID_REQUEST, message), _JSON)
        elif modern and h.version != MODERN:
            await self.delegate(scope, receive, send, body)  # the SDK names what it serves
        elif not modern and not exact_json_content_type(h.content_type):
            await self.delegate(scope, receive, send, body)
        elif not await self._answer(h, body, modern, send):
            await self.delegate(scope, receive, send, body)

    async def _answer(self, h: Headers, body: bytes, modern: bool, send: Send) -> bool:
        """Answer the POST; False (nothing sent) when the SDK is to answer it."""
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        message = plain_message(decoded)
        if message is None or (modern and h.params):
            return False
        if not message.has_id:  # a notification: acknowledged (no client notification needs an answer)
            await _send(send, 202, b"", [] if modern else _JSON)
            return True
        if modern:
            rejected = ladder(message, h)
            if rejected is not None:
                code, text = rejected
                await _send(send, MODERN_STATUS.get(code, 200), _error(message.id, code, text), _JSON)
                return True
        static = self.static[modern].get(message.method)
        handler = self.handlers[modern].get(message.method)
        if (static is None and handler is None) or not plain_params(
            message.method, message.params, modern=modern
        ):
            return False
        if static is not None:
            await _send(send, 200, _response(message.id, static), _JSON)
            return True
        assert handler is not None
        try:
            answer = await handler(self.exposer, message.params, message.id)
        except ProtocolError as exc:
            status = MODERN_STATUS.get(exc.code, 200) if modern else 200
            await _send(send, status, orjson.dumps(_envelope(message.id, error=exc.error())), _JSON)
            return True
        if modern:
            answer = {
                **self.freshness.get(message.method, {}),
                **answer,
                "resultType": "complete",
                "_meta": self.stamp,
            }
        await _send(send, 200, dumps({"jsonrpc": "2.0", "id": message.id, "result": answer}), _JSON)
        return True

    # --- the SDK, for everything else -------------------------------------------------------------------

    async def delegate(self, scope: Scope, receive: Receive, send: Send, body: bytes | None = None) -> None:
        self.delegated += 1
        app = self._sdk or await self._start_sdk()
        if body is None:
            await app(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    async def _start_sdk(self) -> ASGIApp:
        if self._sdk_lock is None:
            self._sdk_lock = asyncio.Lock()
        async with self._sdk_lock:
            if self._sdk is None:
                app, running = self._load_sdk()
                ready, self._stop = asyncio.Event(), asyncio.Event()
                self._task = asyncio.get_running_loop().create_task(self._run_sdk(running, ready))
                await ready.wait()
                self._sdk = app
        return self._sdk

    async def _run_sdk(self, running: AbstractAsyncContextManager[Any], ready: asyncio.Event) -> None:
        assert self._stop is not None
        async with running:
            ready.set()
            await self._stop.wait()

    async def close(self) -> None:
        """Stop the SDK's session manager if it was started (the app's lifespan calls this)."""
        if self._task is not None and self._stop is not None:
            self._stop.set()
            await self._task
            self._task = None


# --- method handlers: params in, result (wire form) out --------------------------------------------------


async def _call_tool(exposer: McpExposer, params: dict[str, Any], ident: str | int | None) -> Any:
    return await exposer.call_tool(params["name"], params.get("arguments"), params.get("_meta"), ident)


async def _read_resource(exposer: McpExposer, params: dict[str, Any], ident: str | int | None) -> Any:
    return await exposer.read_resource(params["uri"])


async def _get_prompt(exposer: McpExposer, params: dict[str, Any], ident: str | int | None) -> Any:
    return exposer.get_prompt(params["name"], params.get("arguments"))


async def _initialize(exposer: McpExposer, params: dict[str, Any], ident: str | int | None) -> Any:
    requested = params["protocolVersion"]
    result = {
        "protocolVersion": requested if requested in HANDSHAKE else LATEST_HANDSHAKE,
        "capabilities": exposer.capabilities,
        "serverInfo": exposer.server_info,
    }
    if exposer.instructions:
        result["instructions"] = exposer.instructions
    return result


# --- the wire ----------------------------------------------------------------------------------------


def _envelope(ident: Any, *, error: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": error}


def _error(ident: Any, code: int, message: str) -> bytes:
    return orjson.dumps(_envelope(ident, error={"code": code, "message": message}))


def _response(ident: str | int | None, result: bytes) -> bytes:
    return b'{"jsonrpc":"2.0","id":' + orjson.dumps(ident) + b',"result":' + result + b"}"


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None once it grows past :data:`MAX_BODY`."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= MAX_BODY else None
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _text(send: Send, status: int, text: bytes) -> None:
    await _send(send, status, text, [(b"content-type", b"text/plain; charset=utf-8")])


__all__ = ["MAX_BODY", "FastPath", "Guard"]
