"""Fault injection and the request journal, as an ASGI layer in front of the API routes.

Requests to ``/_stub/...`` (test control) bypass both. Every other request is read in full, journaled
(method, path, query, headers, body, final status, fault applied) and matched against the fault rules;
the first rule that fires decides what happens:

* ``delay``  — sleep ``ms`` before (or, with ``phase: after``, after) handling;
* ``status`` — answer ``status`` with ``body`` (default: an Inngest-shaped error body for that route);
* ``reset``  — drop the TCP connection without any response (RST), the client sees a connection error;
* ``hang``   — never answer: wait until the client gives up, ``POST /_stub/reset``, or ``ms`` elapses
  (then the connection is dropped).
* ``slow``   — let the real handler answer, then send its body in 16-byte pieces, ``ms`` apart;
* ``truncate`` — let the real handler answer, then send its head (full ``Content-Length``) and half its
  body, and drop the connection.

With ``phase: after`` the real handler runs first (its side effect happens) and its reply is then
delayed, replaced or dropped — the "accepted, then the reply was lost" case for idempotent retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import socket
import struct
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import FaultSpec

log = logging.getLogger("naftiko_inngest_dev")

JOURNAL_MAX_ENTRIES = 10_000
JOURNAL_MAX_BODY = 1024 * 1024
_EVENT_KEY_PATH = re.compile(r"^/e/[^/]+")


def redact_path(path: str) -> str:
    """The path with the event key hidden, for logs."""
    return _EVENT_KEY_PATH.sub("/e/***", path)


def is_stub_path(path: str) -> bool:
    return path == "/_stub" or path.startswith("/_stub/")


@dataclass
class FaultRule:
    spec: FaultSpec
    id: str
    matched: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        self._path = re.compile(self.spec.path)
        self._headers = {name: re.compile(rx) for name, rx in self.spec.match_headers.items()}

    def matches(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        if self.spec.method is not None and self.spec.method != method:
            return False
        if not self._path.search(path):
            return False
        return all(rx.search(headers.get(name, "")) for name, rx in self._headers.items())

    def fires(self, rng: random.Random) -> bool:
        """Called once per matching request, after ``matched`` was incremented."""
        spec = self.spec
        if spec.times is not None and self.fired >= spec.times:
            return False
        if spec.nth and self.matched not in spec.nth:
            return False
        if spec.every is not None and self.matched % spec.every != 0:
            return False
        return spec.probability is None or rng.random() < spec.probability

    def describe(self) -> dict[str, Any]:
        s = self.spec
        rule: dict[str, Any] = {"id": self.id, "action": s.action, "path": s.path, "phase": s.phase}
        optional = {
            "method": s.method,
            "match_headers": dict(s.match_headers) or None,
            "nth": list(s.nth) or None,
            "every": s.every,
            "times": s.times,
            "probability": s.probability,
        }
        rule.update({k: v for k, v in optional.items() if v is not None})
        if s.action in ("delay", "hang"):
            rule["ms"] = s.ms
        if s.action == "status":
            rule["status"] = s.status
            if s.body is not None:
                rule["body"] = s.body
        rule.update(matched=self.matched, fired=self.fired)
        return rule


class FaultEngine:
    """Ordered fault rules with deterministic counters and a seeded RNG."""

    def __init__(self, specs: Iterable[FaultSpec] = (), seed: int = 0) -> None:
        self._initial = list(specs)
        self._seed = seed
        self._counter = 0
        self.rules: list[FaultRule] = []
        self._rng = random.Random(seed)
        self._release: asyncio.Event | None = None
        self.reset()

    def reset(self) -> None:
        """Back to the configured rules with zeroed counters; releases hanging requests."""
        self.rules = []
        self._rng = random.Random(self._seed)
        self.add(self._initial)
        self.release_hangs()

    def add(self, specs: Iterable[FaultSpec]) -> list[str]:
        ids = []
        for spec in specs:
            self._counter += 1
            rule = FaultRule(spec, spec.id or f"fault-{self._counter}")
            self.rules.append(rule)
            ids.append(rule.id)
        return ids

    def clear(self) -> None:
        self.rules = []

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def pick(self, method: str, path: str, headers: Mapping[str, str]) -> FaultRule | None:
        chosen: FaultRule | None = None
        for rule in self.rules:
            if not rule.matches(method, path, headers):
                continue
            rule.matched += 1
            if chosen is None and rule.fires(self._rng):
                rule.fired += 1
                chosen = rule
        return chosen

    def release_event(self) -> asyncio.Event:
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    def release_hangs(self) -> None:
        if self._release is not None:
            self._release.set()
            self._release = None


class Journal:
    """The last :data:`JOURNAL_MAX_ENTRIES` requests, for asserting what a client sent."""

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=JOURNAL_MAX_ENTRIES)
        self._seq = 0

    def record(self, scope: Scope, headers: Mapping[str, str], body: bytes, at: str) -> dict[str, Any]:
        self._seq += 1
        query = scope.get("query_string", b"").decode("latin-1")
        entry: dict[str, Any] = {
            "seq": self._seq,
            "at": at,
            "method": scope["method"],
            "path": scope["path"],
            "query": query,
            "query_params": parse_qs(query, keep_blank_values=True),
            "headers": dict(headers),
            "body": body[:JOURNAL_MAX_BODY].decode("utf-8", errors="replace"),
            "status": None,
            "fault": None,
        }
        if len(body) > JOURNAL_MAX_BODY:
            entry["body_truncated"] = True
        elif body:
            with contextlib.suppress(ValueError):
                entry["json"] = json.loads(body)
        self._entries.append(entry)
        return entry

    def entries(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        rx = re.compile(path) if path else None
        return [
            e
            for e in self._entries
            if (method is None or e["method"] == method.upper()) and (rx is None or rx.search(e["path"]))
        ]

    def clear(self) -> None:
        self._entries.clear()


def _headers_of(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


_V2_CODES = {
    400: "invalid_request",
    401: "invalid_signing_key",
    403: "access_denied",
    404: "not_found",
    409: "idempotency_conflict",
    413: "invalid_request",
    422: "rate_limited",
    429: "rate_limited",
    501: "not_implemented",
}
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal server error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def canned_response(spec: FaultSpec, path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The reply of a ``status`` rule: its own body, or what Inngest (or its gateway) would send."""
    status = spec.status
    reason = _REASONS.get(status, "Error")
    content_type = spec.content_type
    if spec.body is not None:
        if isinstance(spec.body, str):
            body = spec.body.encode()
            content_type = content_type or "text/plain; charset=utf-8"
        else:
            body = json.dumps(spec.body, separators=(",", ":")).encode()
            content_type = content_type or "application/json"
    elif status in (502, 503, 504):
        title = f"{status} {reason}"
        html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        body = html.encode()
        content_type = content_type or "text/html"
    elif path.startswith(("/v2/", "/api/v2/")):
        code = _V2_CODES.get(status, "internal_error")
        body = json.dumps({"errors": [{"code": code, "message": reason}]}).encode()
        content_type = content_type or "application/json"
    elif path.startswith("/v1/"):
        body = json.dumps({"error": reason, "data": None, "status": status}).encode()
        content_type = content_type or "application/json"
    else:
        body = json.dumps({"error": reason, "status": status}).encode()
        content_type = content_type or "application/json"
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    names = {k.lower() for k in spec.headers}
    if status == 429 and "retry-after" not in names:
        headers.append((b"retry-after", b"1"))
    headers.extend((k.lower().encode(), v.encode()) for k, v in spec.headers.items())
    return status, headers, body


def _transport_of(receive: Receive) -> Any:
    """uvicorn's transport for this request, reached through its bound ``receive`` (None elsewhere)."""
    return getattr(getattr(receive, "__self__", None), "transport", None)


def set_nodelay(receive: Receive) -> None:
    """Disable Nagle on the connection.

    asyncio only does so for sockets created with ``proto=IPPROTO_TCP``; a listener made with plain
    ``socket.socket()`` (as in many test helpers) otherwise costs ~40 ms per response (Nagle + delayed ACK).
    """
    transport = _transport_of(receive)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def drop_connection(receive: Receive, send: Send) -> None:
    """Abort the TCP connection with no response (RST via SO_LINGER=0).

    The transport is reached through uvicorn's request cycle (the bound ``receive``). Under another
    server, fall back to starting a response that never completes, which also fails the client.
    """
    transport = _transport_of(receive)
    if transport is not None and callable(getattr(transport, "abort", None)):
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        # let the server notice the disconnect so it does not try to send a 500 itself
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(_wait_disconnect(receive), timeout=2)
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
    raise ConnectionAbortedError("fault rule 'reset'")


class StubLayer:
    """ASGI wrapper: journal + faults + access log (event keys redacted) around the API app."""

    def __init__(
        self, app: ASGIApp, journal: Journal, faults: FaultEngine, now_iso: Callable[[], str]
    ) -> None:
        self.app = app
        self.journal = journal
        self.faults = faults
        self.now_iso = now_iso

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_nodelay(receive)
        method, path = scope["method"], scope["path"]
        status_box: list[int] = []

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box.append(int(message["status"]))
            await send(message)

        if is_stub_path(path):
            await self.app(scope, receive, logged_send)
            log.info("%s %s %s", method, path, status_box[0] if status_box else "-")
            return

        body, disconnected = await _read_body(receive)
        headers = _headers_of(scope)
        entry = self.journal.record(scope, headers, body, self.now_iso())
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if disconnected:
                    return {"type": "http.disconnect"}
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        rule = self.faults.pick(method, path, headers)
        try:
            if rule is None:
                await self.app(scope, replay, logged_send)
            else:
                entry["fault"] = rule.id
                await self._apply(rule, scope, receive, replay, logged_send, path)
        finally:
            entry["status"] = status_box[0] if status_box else None
            outcome = status_box[0] if status_box else "no response"
            suffix = f" (fault {rule.id}: {rule.spec.action})" if rule else ""
            log.info("%s %s %s%s", method, redact_path(path), outcome, suffix)

    async def _apply(
        self, rule: FaultRule, scope: Scope, receive: Receive, replay: Receive, send: Send, path: str
    ) -> None:
        spec = rule.spec
        if spec.action in ("slow", "truncate"):
            await self._mangle(spec, scope, receive, replay, send)
            return
        if spec.phase == "after":
            captured: list[Message] = []

            async def capture(message: Message) -> None:
                captured.append(message)

            await self.app(scope, replay, capture)
            if spec.action == "delay":
                await asyncio.sleep(spec.ms / 1000)
                for message in captured:
                    await send(message)
                return
        elif spec.action == "delay":
            await asyncio.sleep(spec.ms / 1000)
            await self.app(scope, replay, send)
            return
        if spec.action == "status":
            status, headers, body = canned_response(spec, path)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif spec.action == "reset":
            await drop_connection(receive, send)
        else:  # hang
            await self._hang(spec, receive, send)

    async def _mangle(
        self, spec: FaultSpec, scope: Scope, receive: Receive, replay: Receive, send: Send
    ) -> None:
        """The real reply, sent slowly (``slow``) or cut in half (``truncate``)."""
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.app(scope, replay, capture)
        start = next(m for m in captured if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
        await send(start)
        if spec.action == "truncate":
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            await drop_connection(receive, send)
            return
        for i in range(0, len(body), 16):
            await send({"type": "http.response.body", "body": body[i : i + 16], "more_body": True})
            await asyncio.sleep(spec.ms / 1000)
        await send({"type": "http.response.body", "body": b""})

    async def _hang(self, spec: FaultSpec, receive: Receive, send: Send) -> None:
        disconnect = asyncio.ensure_future(_wait_disconnect(receive))
        release = asyncio.ensure_future(self.faults.release_event().wait())
        timeout = spec.ms / 1000 if spec.ms > 0 else None
        done, pending = await asyncio.wait(
            {disconnect, release}, timeout=timeout, return_when="FIRST_COMPLETED"
        )
        for task in pending:
            task.cancel()
        if disconnect not in done:
            await drop_connection(receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False
