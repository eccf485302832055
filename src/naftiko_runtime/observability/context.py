"""The context of the request being served, visible to everything that runs on its behalf.

The exposing side (the access-log middleware) opens a :class:`RequestContext` when a request arrives; the
exposers name the operation or tool that serves it, the consumers note what happened upstream in it, even
from tasks the MCP SDK spawned, because a ``ContextVar`` is copied into every task created while it is
set. Outside a request (tests, stdio) nothing is open and the notes cost one lookup.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestContext:
    """What is known about one inbound request: the adapter serving it, the operation or tool that ran
    (a route template or a tool name, never a raw path), its last upstream call and its trace id, and
    what resilience needs (the caller's idempotency key and deadline, the keys filled in, the attempts
    made and the time spent waiting for a connection slot)."""

    adapter: str
    operation: str | None = None
    upstream_status: int | None = None
    #: ``namespace.operation`` of the last upstream call
    upstream: str | None = None
    upstream_duration: float | None = None
    trace_id: str | None = None
    #: ``time.monotonic()`` by which the caller wants an answer, if it said so
    deadline: float | None = None
    #: the caller's ``Idempotency-Key``: the base of the keys a consumer fills in
    idempotency_key: str | None = None
    #: idempotency keys a consumer filled in for this request (returned to the caller)
    sent_keys: list[str] = field(default_factory=list)
    upstream_attempts: int = 0
    pool_wait: float = 0.0


_current: ContextVar[RequestContext | None] = ContextVar("naftiko_request", default=None)


def open_request(adapter: str) -> tuple[RequestContext, Token[RequestContext | None]]:
    """Start a request's context; hand the token to :func:`close_request` when the request ends."""
    context = RequestContext(adapter)
    return context, _current.set(context)


def close_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def current_request() -> RequestContext | None:
    return _current.get()


def note_upstream_status(status: int) -> None:
    """Record an upstream's answer on the request being served, if any."""
    context = _current.get()
    if context is not None:
        context.upstream_status = status


def note_operation(name: str) -> None:
    """Name the operation or tool serving the request (the first one named wins: a tool that delegates
    to an aggregate function is still that tool)."""
    context = _current.get()
    if context is not None and context.operation is None:
        context.operation = name


__all__ = [
    "RequestContext",
    "close_request",
    "current_request",
    "note_operation",
    "note_upstream_status",
    "open_request",
]
