"""One observer hook for metrics, tracing and logs: requests in, tool calls, upstream calls out.

Nobody observes by default, and then reporting costs one module attribute read per call. To observe,
subclass :class:`Observer`, override what you need and :func:`install` it once at start-up (before the
servers start; it is process-wide; :class:`Observers` fans out to several). Each ``*_start`` gets an event
whose ``state`` slot the observer may fill (a span, a timer) and finds again in the matching ``*_end``,
which has the outcome filled in. Observers must not raise: an exception from one propagates into the
request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .context import current_request

#: ASGI request headers: (lower-case name, value) byte pairs
RawHeaders = Sequence[tuple[bytes, bytes]]


@dataclass(slots=True)
class RequestEvent:
    """An inbound request: the adapter serving it, its method and raw path (never the query string).

    ``operation`` is filled in at the end: the route template or tool that served it, if any.
    """

    adapter: str
    method: str
    path: str
    started: float
    headers: RawHeaders = ()
    status: int = 0
    duration: float = 0.0
    error: BaseException | None = None
    operation: str | None = None
    state: Any = None


@dataclass(slots=True)
class ToolEvent:
    """One MCP tool call: the tool's name, the request's ``_meta`` (trace context travels there) and
    JSON-RPC id. ``failed`` is set at the end when the result is an error result."""

    name: str
    meta: Mapping[str, Any]
    request_id: str | int | None
    started: float
    failed: bool = False
    error: BaseException | None = None
    state: Any = None


@dataclass(slots=True)
class UpstreamEvent:
    """An upstream call: consumed ``namespace`` and ``operation``, its answer's status or the error raised.

    ``headers`` are the outgoing request's: an observer may add to them (trace context) in its start.
    """

    namespace: str
    operation: str
    method: str
    url: str
    started: float
    headers: MutableMapping[str, str]
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

    def tool_start(self, event: ToolEvent) -> None:
        pass

    def tool_end(self, event: ToolEvent) -> None:
        pass

    def upstream_start(self, event: UpstreamEvent) -> None:
        pass

    def upstream_end(self, event: UpstreamEvent) -> None:
        pass

    def retry(self, namespace: str, operation: str) -> None:
        """An upstream call is being tried again."""

    def rejection(self, adapter: str, reason: str) -> None:
        """A request was turned away before it reached an operation (``reason``: a short fixed word)."""

    def reload(self, ok: bool) -> None:
        """The capabilities were reloaded (``ok``) or a reload was refused."""

    def circuit_change(self, namespace: str, state: str) -> None:
        """An upstream's circuit breaker changed to ``state`` (closed, open or half-open)."""


class Observers(Observer):
    """Several observers as one, called in order (ends in reverse order, so spans nest inside timers).

    Each observer keeps its own ``state`` on an event: the event carries the list of them between calls.
    """

    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = tuple(observers)

    @staticmethod
    def _start(calls: Sequence[Callable[[Any], None]], event: Any) -> None:
        states = []
        for call in calls:
            event.state = None
            call(event)
            states.append(event.state)
        event.state = states

    @staticmethod
    def _end(calls: Sequence[Callable[[Any], None]], event: Any) -> None:
        states = event.state
        for i in range(len(calls) - 1, -1, -1):
            event.state = states[i]
            calls[i](event)
        event.state = states

    def request_start(self, event: RequestEvent) -> None:
        self._start([o.request_start for o in self.observers], event)

    def request_end(self, event: RequestEvent) -> None:
        self._end([o.request_end for o in self.observers], event)

    def tool_start(self, event: ToolEvent) -> None:
        self._start([o.tool_start for o in self.observers], event)

    def tool_end(self, event: ToolEvent) -> None:
        self._end([o.tool_end for o in self.observers], event)

    def upstream_start(self, event: UpstreamEvent) -> None:
        self._start([o.upstream_start for o in self.observers], event)

    def upstream_end(self, event: UpstreamEvent) -> None:
        self._end([o.upstream_end for o in self.observers], event)

    def retry(self, namespace: str, operation: str) -> None:
        for observer in self.observers:
            observer.retry(namespace, operation)

    def rejection(self, adapter: str, reason: str) -> None:
        for observer in self.observers:
            observer.rejection(adapter, reason)

    def reload(self, ok: bool) -> None:
        for observer in self.observers:
            observer.reload(ok)

    def circuit_change(self, namespace: str, state: str) -> None:
        for observer in self.observers:
            observer.circuit_change(namespace, state)


#: The installed observer; ``None`` means nobody observes and reporters skip the bookkeeping.
observer: Observer | None = None


def install(new: Observer | None) -> Observer | None:
    """Install ``new`` (``None`` removes it); returns the one it replaces."""
    global observer
    previous, observer = observer, new
    return previous


def request_started(adapter: str, method: str, path: str, headers: RawHeaders = ()) -> RequestEvent | None:
    """Report a request's start; ``None`` (and nothing to report later) when nobody observes."""
    current = observer
    if current is None:
        return None
    event = RequestEvent(adapter, method, path, time.perf_counter(), headers)
    current.request_start(event)
    return event


def request_ended(
    event: RequestEvent, status: int, error: BaseException | None = None, operation: str | None = None
) -> None:
    current = observer
    if current is None:
        return
    event.status = status
    event.error = error
    event.operation = operation
    event.duration = time.perf_counter() - event.started
    current.request_end(event)


def tool_started(name: str, meta: Mapping[str, Any] | None, request_id: str | int | None) -> ToolEvent | None:
    current = observer
    if current is None:
        return None
    event = ToolEvent(name, meta or {}, request_id, time.perf_counter())
    current.tool_start(event)
    return event


def tool_ended(event: ToolEvent, failed: bool, error: BaseException | None = None) -> None:
    current = observer
    if current is None:
        return
    event.failed = failed
    event.error = error
    current.tool_end(event)


def upstream_started(
    namespace: str,
    operation: str,
    method: str,
    url: str = "",
    headers: MutableMapping[str, str] | None = None,
) -> UpstreamEvent | None:
    """Report an upstream call's start; ``None`` (and nothing to report later) when nobody observes."""
    current = observer
    if current is None:
        return None
    event = UpstreamEvent(
        namespace, operation, method, url, time.perf_counter(), headers if headers is not None else {}
    )
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


def retried(namespace: str, operation: str) -> None:
    current = observer
    if current is not None:
        current.retry(namespace, operation)


def rejected(reason: str, adapter: str | None = None) -> None:
    """Report a request turned away; ``adapter`` defaults to the one serving the current request."""
    current = observer
    if current is not None:
        if adapter is None:
            context = current_request()
            adapter = context.adapter if context is not None else "-"
        current.rejection(adapter, reason)


def reloaded(ok: bool) -> None:
    current = observer
    if current is not None:
        current.reload(ok)


def circuit_changed(namespace: str, state: str) -> None:
    current = observer
    if current is not None:
        current.circuit_change(namespace, state)


class _Operation(Protocol):
    @property
    def qualified(self) -> str: ...

    @property
    def method(self) -> str: ...


class _Answer(Protocol):
    @property
    def status(self) -> int: ...


_R = TypeVar("_R", bound=_Answer)


def watching() -> bool:
    """Whether an upstream call has anyone to report to: the observer, or a request context to note it on."""
    return observer is not None or current_request() is not None


async def observe_upstream(
    namespace: str,
    operation: _Operation,
    url: str,
    headers: MutableMapping[str, str],
    call: Coroutine[Any, Any, _R],
) -> _R:
    """Await a consumer's ``call`` of ``operation``, reporting it to the observer and noting it on the
    request being served (for its access line). Consumers use it only when :func:`watching`, so an
    unobserved call costs no extra frame. ``call`` must not have started: the observer may add headers
    (a trace context) to ``headers`` before it sends them.

    The operation's ``qualified`` name (``namespace.operation``) gives the event's operation.
    """
    context = current_request()
    started = time.perf_counter()
    event = None
    if observer is not None:
        name = operation.qualified.removeprefix(namespace + ".")
        try:
            event = upstream_started(namespace, name, operation.method, url, headers)
        except BaseException:
            call.close()  # never started: closed, so it is not reported as a coroutine never awaited
            raise
    try:
        answer = await call
    except BaseException as exc:
        if context is not None:
            context.upstream = operation.qualified
            context.upstream_duration = time.perf_counter() - started
        if event is not None:
            upstream_ended(event, None, exc)
        raise
    if context is not None:
        context.upstream = operation.qualified
        context.upstream_duration = time.perf_counter() - started
    if event is not None:
        upstream_ended(event, answer.status)
    return answer


__all__ = [
    "Observer",
    "Observers",
    "RawHeaders",
    "circuit_changed",
    "RequestEvent",
    "ToolEvent",
    "UpstreamEvent",
    "install",
    "observe_upstream",
    "observer",
    "rejected",
    "reloaded",
    "request_ended",
    "request_started",
    "retried",
    "tool_ended",
    "tool_started",
    "upstream_ended",
    "upstream_started",
    "watching",
]
