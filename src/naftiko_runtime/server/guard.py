"""What stands in front of every HTTP adapter, whatever its type (applied once, in :mod:`.assemble`).

- **In-flight cap** (``--max-in-flight N``): the request beyond N is answered at once with 503 and
  ``Retry-After`` (a JSON-RPC error body on MCP adapters), never queued.
- **Cross-site protection**: the ``Host`` must be loopback, the bound address or an ``--allow-host`` name
  (else 421), and an ``Origin``, when sent, must name one of them (else 403), so neither a web page nor a
  DNS-rebound name can reach the adapter. MCP adapters get the same rules from the SDK, which keeps its
  own answers; the guard checks the others. No CORS headers are sent, so browsers keep cross-origin
  reads closed.
- **Bodies**: a request body must be ``application/json`` (or ``+json``) on REST adapters (415: forms and
  ``text/plain`` are what a page can send without asking); a declared ``Content-Length`` over the limit is
  413 before anything is read, and the body is drained (up to a bound) so the answer reaches the client.
- **Idempotency** (where a consumer fills in keys, ``GuardSettings.keys``): the caller's
  ``Idempotency-Key`` is noted for the consumers (the base of the keys they fill in), and the keys
  filled in are returned in an ``Idempotency-Key`` response header.
- **Shutdown**: once it begins every response carries ``Connection: close`` (uvicorn adds it to the
  responses in flight then, the guard to those that begin after); a request still running when the grace
  period ends is answered 503 (problem+json) instead of a bare 500.

What is not needed is not done: a request costs a look at a few headers and the in-flight count; the
request context and the wrapped ``send`` come only with idempotency keys or a shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..observability.context import RequestContext, close_request, current_request, open_request
from ..problem import Problem, ProblemResponse

log = logging.getLogger("naftiko")

LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")
MAX_BODY_BYTES = 1024 * 1024
#: how much of an oversized body is read (and dropped) so the 413 reaches the client before the close
DRAIN_BYTES = 8 * MAX_BODY_BYTES
DRAIN_SECONDS = 2.0
DEFAULT_MAX_IN_FLIGHT = 512
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Draining:
    """Shared by a plan's guards: set when shutdown begins."""

    started: bool = False

    def begin(self) -> None:
        self.started = True


@dataclass
class GuardSettings:
    adapter: str
    kind: str
    host: str
    port: int
    allow_hosts: Sequence[str] = ()
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    draining: Draining = field(default_factory=Draining)
    #: a consumer behind the adapter fills in idempotency keys (its policy names the field)
    keys: bool = False


def allowed_hosts(host: str, allow: Sequence[str]) -> frozenset[str]:
    """Loopback, the bound address (a page's Host is its own name, never a literal address it does not
    know), and the names given."""
    names = {*LOOPBACK, *(h.lower() for h in allow)}
    if host:
        names.add(f"[{host.lower()}]" if ":" in host else host.lower())
    return frozenset(names)


def _hostname(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


#: the request headers the guard reads (ASGI gives their names in lower case)
_READ = frozenset(
    (b"host", b"origin", b"content-length", b"transfer-encoding", b"content-type", b"idempotency-key")
)


def _rpc_error(detail: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": detail}}).encode()


class Guard:
    """ASGI middleware around one adapter's app (see the module docstring)."""

    def __init__(self, app: Any, settings: GuardSettings) -> None:
        self.app = app
        self.settings = settings
        self.hosts = allowed_hosts(settings.host, settings.allow_hosts)
        self.in_flight = 0
        #: whether a Host header value names this server, for the values seen (a bounded cache)
        self._host_seen: dict[bytes, bool] = {}
        self.rest = settings.kind != "mcp"
        #: REST adapters read JSON bodies only; others (control's /validate takes YAML) say what they read
        self.json_bodies = settings.kind == "rest"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings
        headers = {k: v for k, v in scope["headers"] if k in _READ}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, title, detail, extra = refusal
            await self._answer(send, status, title, detail, extra)
            if status == 413:
                await _drain(receive)
            return
        self.in_flight += 1
        token = None
        if settings.keys:
            context = current_request()
            if context is None:
                context, token = open_request(settings.adapter)
            key = headers.get(b"idempotency-key", b"").decode("latin-1")
            if key and len(key) <= 200 and key.isprintable():
                context.idempotency_key = key
            send = _adding_headers(send, context, settings.draining)
        elif settings.draining.started:
            send = _adding_headers(send, None, settings.draining)
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if not settings.draining.started:
                raise
            # the grace period is over: answer what can still be answered, and end the request here
            detail = "the server is shutting down and this request did not finish within its grace period"
            with contextlib.suppress(RuntimeError):  # the server refuses a second start: it had begun
                await self._answer(send, 503, "Shutting down", detail, [(b"retry-after", b"1")])
        finally:
            self.in_flight -= 1
            if token is not None:
                close_request(token)

    def _refusal(self, scope: Any, headers: dict[bytes, bytes]) -> tuple[int, str, str, list[Any]] | None:
        """Why this request is refused before it runs: (status, title, detail, headers), or None.
        ``headers`` are the ones the guard reads, still bytes: most requests need none decoded."""
        if self.in_flight >= self.settings.max_in_flight:
            detail = f"{self.settings.max_in_flight} requests are already in flight; try again shortly"
            return 503, "Server busy", detail, [(b"retry-after", b"1")]
        if not self.rest:
            return None  # the MCP SDK checks Host, Origin and the content type with its own answers
        raw_host = headers.get(b"host", b"")
        known = self._host_seen.get(raw_host)  # clients send the same Host again and again
        if known is None:
            known = _hostname(raw_host.decode("latin-1")) in self.hosts
            if len(self._host_seen) < 64:
                self._host_seen[raw_host] = known
        if not known:
            host = _hostname(raw_host.decode("latin-1"))
            return 421, "Misdirected request", f"this server does not answer for host '{host}'", []
        raw_origin = headers.get(b"origin")
        if raw_origin is not None:
            origin = raw_origin.decode("latin-1")
            if _hostname(origin.partition("://")[2]) not in self.hosts:
                return 403, "Forbidden", f"requests from origin '{origin}' are not accepted", []
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return 413, "Content too large", f"the request body exceeds {MAX_BODY_BYTES} bytes", []
        if (
            self.json_bodies
            and scope.get("method") in _BODY_METHODS
            and ((length.isdigit() and int(length) > 0) or b"transfer-encoding" in headers)
        ):
            media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                shown = media or "none"
                detail = f"the request body must be application/json (content type: {shown})"
                return 415, "Unsupported media type", detail, []
        return None

    async def _answer(self, send: Any, status: int, title: str, detail: str, extra: list[Any]) -> None:
        headers = {k.decode(): v.decode() for k, v in extra}
        if self.settings.draining.started or status == 413:
            headers["Connection"] = "close"
        if self.rest or status != 503:
            await ProblemResponse(Problem(status, title, detail, headers=headers)).emit(send)
            return
        body = _rpc_error(detail)  # an MCP client reads JSON-RPC, not problems
        head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        head += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})


def _adding_headers(send: Any, context: RequestContext | None, draining: Draining) -> Any:
    """``send`` adding the idempotency keys filled in and, once shutdown began, ``Connection: close``."""

    async def guarded_send(message: Any) -> None:
        if message["type"] == "http.response.start":
            extra = []
            if context is not None and context.sent_keys:
                extra.append((b"idempotency-key", ", ".join(context.sent_keys).encode("latin-1")))
            if draining.started:
                extra.append((b"connection", b"close"))
            if extra:
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return guarded_send


async def _drain(receive: Any) -> None:
    """Read and drop the request body (up to a bound), so closing does not reset the answer away."""

    async def read() -> None:
        seen = 0
        while seen < DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            seen += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    try:
        await asyncio.wait_for(read(), DRAIN_SECONDS)
    except TimeoutError:
        pass


__all__ = ["DEFAULT_MAX_IN_FLIGHT", "Draining", "Guard", "GuardSettings", "allowed_hosts"]
