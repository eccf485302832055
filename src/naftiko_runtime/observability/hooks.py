"""One observer hook for metrics and tracing: requests in, upstream calls out.

Nobody observes by default, and then reporting costs one module attribute read per call. To observe,
subclass :class:`Observer`, override what you need and :func:`install` it once at start-up (before the
servers start; it is process-wide). Each ``*_start`` gets an event whose ``state`` slot the observer may
fill (a span, a timer) and finds again in the matching ``*_end``, which has the outcome filled in.
Observers must not raise: an exception from one propagates into the request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar


@dataclass(slots=True)
class RequestEvent:
    """An inbound request: the adapter serving it, its method and raw path (never the query string)."""

    adapter: str
    method: str
    path: str
    started: float
    status: int = 0
    duration: float = 0.0
    error: BaseException | None = None
    state: Any = None


@dataclass(slots=True)
class UpstreamEvent:
    """An upstream call: consumed ``namespace`` and ``operation``, its answer's status or the error raised."""

    namespace: str
    operation: str
    method: str
    started: float
    status: int | None = None
    duration: float = 0.0
    error: BaseException | None = None
    state: Any = None


class Observer:
    """Every method does nothing; an observer overrides the ones it needs. Durations are in seconds."""

    def request_start(self, event: RequestEvent) -> None:
        pass

    def request_end(self, event: RequestEvent) -> None:
        pass

    def upstream_start(self, event: UpstreamEvent) -> None:
        pass

    def upstream_end(self, event: UpstreamEvent) -> None:
        pass


#: The installed observer; ``None`` means nobody observes and reporters skip the bookkeeping.
observer: Observer | None = None


def install(new: Observer | None) -> Observer | None:
    """Install ``new`` (``None`` removes it); returns the one it replaces."""
    global observer
    previous, observer = observer, new
    return previous


def request_started(adapter: str, method: str, path: str) -> RequestEvent | None:
    """Report a request's start; ``None`` (and nothing to report later) when nobody observes."""
    current = observer
    if current is None:
        return None
    event = RequestEvent(adapter, method, path, time.perf_counter())
    current.request_start(event)
    return event


def request_ended(event: RequestEvent, status: int, error: BaseException | None = None) -> None:
    current = observer
    if current is None:
        return
    event.status = status
    event.error = error
    event.duration = time.perf_counter() - event.started
    current.request_end(event)


def upstream_started(namespace: str, operation: str, method: str) -> UpstreamEvent | None:
    """Report an upstream call's start; ``None`` (and nothing to report later) when nobody observes."""
    current = observer
    if current is None:
        return None
    event = UpstreamEvent(namespace, operation, method, time.perf_counter())
    current.upstream_start(event)
    return event


def upstream_ended(event: UpstreamEvent, status: int | None, error: BaseException | None = None) -> None:
    current = observer
    if current is None:
        return
    event.status = status
    event.error = error
    event.duration = time.perf_counter() - event.started
    current.upstream_end(event)


class _Consumer(Protocol):
    @property
    def namespace(self) -> str: ...


class _Operation(Protocol):
    @property
    def qualified(self) -> str: ...

    @property
    def method(self) -> str: ...


class _Answer(Protocol):
    @property
    def status(self) -> int: ...


_C = TypeVar("_C", bound=_Consumer)
_O = TypeVar("_O", bound=_Operation)
_R = TypeVar("_R", bound=_Answer)
_P = ParamSpec("_P")


def observed_upstream(
    send: Callable[Concatenate[_C, _O, _P], Awaitable[_R]],
) -> Callable[Concatenate[_C, _O, _P], Coroutine[Any, Any, _R]]:
    """Report every call of a consumer's ``send(operation, ...)`` method to the observer.

    The operation's ``qualified`` name (``namespace.operation``) gives the event's operation.
    """

    @wraps(send)
    async def observed(consumer: _C, operation: _O, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if observer is None:
            return await send(consumer, operation, *args, **kwargs)
        namespace = consumer.namespace
        name = operation.qualified.removeprefix(namespace + ".")
        event = upstream_started(namespace, name, operation.method)
        try:
            answer = await send(consumer, operation, *args, **kwargs)
        except BaseException as exc:
            if event is not None:
                upstream_ended(event, None, exc)
            raise
        if event is not None:
            upstream_ended(event, answer.status)
        return answer

    return observed


__all__ = [
    "Observer",
    "RequestEvent",
    "UpstreamEvent",
    "install",
    "observed_upstream",
    "observer",
    "request_ended",
    "request_started",
    "upstream_ended",
    "upstream_started",
]
