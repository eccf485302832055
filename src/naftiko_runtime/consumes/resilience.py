"""How a consumed namespace is called when it is slow, failing or overloaded.

One :class:`Policy` per namespace (CLI flags and the optional runtime config file, :mod:`.policy_file`):

- **timeouts**: ``connect`` (opening a connection), ``read`` (the upstream sends nothing for that long) and
  ``total`` (the budget of the whole call, retries and pauses included; a caller's own deadline, noted in
  the request context, shortens it);
- **retries** with exponential backoff and full jitter, only for calls that are safe to repeat (GET, HEAD,
  OPTIONS, an operation declared idempotent, or a request carrying the idempotency key the upstream
  deduplicates on) and only after a transport error, a timeout, 502, 503, 504 or 429. A connection that
  could not be opened is retried for any call: nothing reached the upstream. ``Retry-After`` is honoured
  up to ``max_retry_after``; a longer one is handed to the caller instead;
- a **concurrency limit** (:class:`Gate`): at most ``limit`` calls in flight (the connection pool has the
  same size), at most ``limit`` more waiting up to ``queue`` seconds; beyond that the call is shed with
  a 503 that blames this server, not the upstream, and the wait is reported apart from the upstream's time;
- a **circuit breaker** (:class:`Breaker`): after ``failures`` failures in a row (transport errors,
  timeouts, 5xx) calls fail fast with a 503 and ``Retry-After`` for ``cooldown`` seconds; then one call
  probes, and its outcome closes or re-opens the circuit. Changes are logged and reported to the observer.

Why not in the capability file: alpha2 has no place for these settings, its schema is closed, and they
depend on where a capability is deployed (the same file talks to a local stand-in and to production).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any

from ..errors import BusyError, CircuitOpenError
from ..observability import hooks
from ..observability.context import current_request

log = logging.getLogger("naftiko.upstream")

#: upstream statuses worth another attempt (for a call safe to repeat)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: upstream statuses that count as a failure for the circuit breaker
FAILURE_STATUSES = frozenset({500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Upstream timeouts in seconds: to connect, between bytes read (``None``: up to ``total``), and for the
    whole call (``total``, every attempt included)."""

    connect: float = 5.0
    total: float = 30.0
    read: float | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything about calling one consumed namespace that is not in the capability file."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    #: attempts at most for a call that is safe to repeat (1: never retry)
    attempts: int = 3
    #: the first pause between attempts; each pause doubles, up to ``max_backoff``, with full jitter
    backoff: float = 0.1
    max_backoff: float = 2.0
    #: an upstream ``Retry-After`` longer than this is handed to the caller instead of waited out
    max_retry_after: float = 5.0
    #: calls in flight at most (the connection pool size); as many more may wait ``queue`` seconds
    limit: int = 100
    queue: float = 1.0
    #: failures in a row that open the circuit (0: no breaker), and how long it stays open
    failures: int = 5
    cooldown: float = 10.0
    #: a body field the upstream deduplicates on (Inngest events: ``id``); filled in when absent, which
    #: makes the call safe to retry
    idempotency_key: str | None = None

    def with_timeouts(self, timeouts: Timeouts | None) -> Policy:
        return self if timeouts is None else replace(self, timeouts=timeouts)


def backoff_delay(policy: Policy, attempt: int, rng: random.Random | None = None) -> float:
    """The pause before attempt ``attempt + 1`` (``attempt`` counts from 1): full jitter over the doubling."""
    ceiling = min(policy.max_backoff, policy.backoff * (2 ** (attempt - 1)))
    return (rng or random).uniform(0, ceiling)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Gate:
    """The concurrency limit of one namespace: a counter of calls in flight, and a bounded queue with a
    timed wait behind it.

    A counter rather than an ``asyncio.Semaphore``: a call that finds a free slot (nearly every call) pays
    one comparison; waiters are served first come, first served, a freed slot passing straight to the
    oldest of them.
    """

    def __init__(self, namespace: str, limit: int, queue: float) -> None:
        self.namespace = namespace
        self.limit = limit
        self.queue = queue
        self.busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take(self) -> bool:
        """Take a free slot at once if there is one (no waiting); False when :meth:`enter` must wait."""
        if self.busy < self.limit and not self._waiters:
            self.busy += 1
            return True
        return False

    async def enter(self, budget: float) -> float:
        """Take a slot; returns the seconds waited. Sheds (:class:`BusyError`) when the queue is full or
        no slot frees up within ``queue`` seconds (or the call's remaining ``budget``)."""
        if self.busy < self.limit and not self._waiters:
            self.busy += 1
            return 0.0
        if len(self._waiters) >= self.limit:
            raise self._shed(0.0)
        started = time.monotonic()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout=max(0.0, min(self.queue, budget)))
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():  # the slot came as the wait ended
                if isinstance(exc, TimeoutError):
                    return time.monotonic() - started
                self.leave()  # the caller went away: pass the slot on
                raise
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise self._shed(time.monotonic() - started) from None
            raise
        return time.monotonic() - started

    def leave(self) -> None:
        """Free a slot: hand it to the oldest waiter still waiting, else count it free."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1

    def _shed(self, waited: float) -> BusyError:
        detail = f"{self.namespace}: {self.limit} calls are already in flight to this upstream"
        detail += f" (waited {waited:.2f} s for a slot)" if waited else " and as many are waiting"
        error = BusyError(detail, namespace=self.namespace, limit=self.limit)
        error.with_retry_after(1)
        return error


class Breaker:
    """A circuit breaker: closed, open (fail fast) for ``cooldown`` seconds, then half-open (one probe)."""

    def __init__(self, namespace: str, failures: int, cooldown: float) -> None:
        self.namespace = namespace
        self.threshold = failures
        self.cooldown = cooldown
        self.state = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self._probing = False

    def check(self, operation: str) -> bool:
        """Before a call: raise :class:`CircuitOpenError` while open; True when this call is the probe."""
        if self.threshold <= 0 or self.state == "closed":
            return False
        left = self.opened_at + self.cooldown - time.monotonic()
        if self.state == "open" and left <= 0:
            self._change("half-open", "cool-down over, the next call probes")
        if self.state == "half-open" and not self._probing:
            self._probing = True
            return True
        left = max(left, 1.0)
        error = CircuitOpenError(
            f"{operation}: {self.namespace} failed {self.failures} times in a row; calls to it are "
            f"refused for {self.cooldown:g} s (retry after {left:.0f} s)",
            operation=operation,
        )
        error.with_retry_after(left)
        raise error

    def success(self, probe: bool) -> None:
        if probe:
            self._probing = False
        self.failures = 0
        if self.state != "closed":
            self._change("closed", "the probe succeeded")

    def failure(self, probe: bool) -> None:
        if probe:
            self._probing = False
        if self.threshold <= 0:
            return
        self.failures += 1
        if self.state == "half-open" or (self.state == "closed" and self.failures >= self.threshold):
            self.opened_at = time.monotonic()
            self._change("open", f"{self.failures} failures in a row; failing fast for {self.cooldown:g} s")

    def abandon(self, probe: bool) -> None:
        """The probe ended without an outcome (cancelled, shed): let the next call probe."""
        if probe:
            self._probing = False

    def _change(self, state: str, why: str) -> None:
        self.state = state
        level = logging.INFO if state == "closed" else logging.WARNING
        log.log(level, "circuit %s for upstream %s: %s", state, self.namespace, why)
        hooks.circuit_changed(self.namespace, state)


def remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def settings(policy: Policy) -> Mapping[str, Any]:
    """The policy as the log shows it at start-up."""
    t = policy.timeouts
    return {
        "connect": t.connect,
        "read": t.read if t.read is not None else t.total,
        "total": t.total,
        "attempts": policy.attempts,
        "limit": policy.limit,
        "queue": policy.queue,
        "failures": policy.failures,
        "cooldown": policy.cooldown,
        "idempotency_key": policy.idempotency_key,
    }


def fill_keys(values: dict[str, Any], key: str, single: bool) -> bool:
    """Give every event in a body an idempotency ``key`` field when it has none; True when all have one.

    The caller's ``Idempotency-Key`` is the base when it sent one (so its own retry repeats the keys),
    else each key is new. The keys filled in are noted on the request, to be returned to the caller.
    """
    context = current_request()
    base = context.idempotency_key if context is not None else None
    if single:
        name = next(iter(values))
        payload = values[name]
        many = isinstance(payload, list)
        items = [dict(i) if isinstance(i, Mapping) else i for i in (payload if many else [payload])]
        values[name] = items if many else items[0]
    else:
        many, items = False, [values]
    keyed = True
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            keyed = False
            continue
        if item.get(key) in (None, ""):
            item[key] = (f"{base}-{index}" if many else base) if base else str(uuid.uuid4())
            if context is not None:
                context.sent_keys.append(str(item[key]))
    return keyed


__all__ = [
    "FAILURE_STATUSES",
    "RETRY_STATUSES",
    "SAFE_METHODS",
    "Breaker",
    "Gate",
    "Policy",
    "Timeouts",
    "backoff_delay",
    "fill_keys",
    "parse_retry_after",
    "remaining",
    "settings",
]
