"""Sending one request to a consumed API under its :class:`~.resilience.Policy`.

:class:`Upstream` owns the namespace's connection pool (a :class:`~.pool.Pool`: one
``aiohttp.ClientSession``), its :class:`~.resilience.Gate` and :class:`~.resilience.Breaker`.
:meth:`Upstream.send` makes the attempts; the pool makes each one and turns aiohttp's failures into the
runtime's errors. The pool's module, and with it aiohttp, is imported when the pool opens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from multidict import CIMultiDict

from ..errors import UpstreamTimeoutError, UpstreamUnavailableError
from ..observability import hooks
from ..observability.context import RequestContext, current_request
from .resilience import FAILURE_STATUSES, RETRY_STATUSES, Breaker, Gate, Policy, backoff_delay, remaining

if TYPE_CHECKING:
    from .pool import Pool
    from .stream import BinaryBody

log = logging.getLogger("naftiko.upstream")

#: an attempt is only worth making with at least this much of the budget left (seconds)
MIN_ATTEMPT = 0.05


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    reason: str
    content_type: str
    body: bytes
    #: seconds from the upstream's ``Retry-After`` (on 429 and 503), if it sent one
    retry_after: float | None = None
    #: the body left open (``send(stream=True)`` and a status under 400); ``body`` is then empty
    stream: BinaryBody | None = None

    def text_excerpt(self, redact: Callable[[str], str], limit: int = 300) -> str:
        text = self.body[: limit * 4].decode("utf-8", "replace").strip()
        text = redact(" ".join(text.split()))
        return text if len(text) <= limit else text[: limit - 1] + "…"


class SendTarget(Protocol):
    """What :meth:`HttpConsumer.send` needs of an operation: its method, and its name for messages."""

    @property
    def method(self) -> str: ...

    @property
    def qualified(self) -> str: ...


class Upstream:
    """One consumed API's connection pool, limits and circuit; ``send`` is the only way out."""

    def __init__(self, namespace: str, base_uri: str, policy: Policy) -> None:
        self.namespace = namespace
        self.base_uri = base_uri.rstrip("/")
        parts = urlsplit(self.base_uri)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.policy = policy
        self.timeouts = policy.timeouts
        self.gate = Gate(namespace, policy.limit, policy.queue)
        self.breaker = Breaker(namespace, policy.failures, policy.cooldown)
        self._pool: Pool | None = None

    async def start(self) -> None:
        """Open the pool (on the serving loop); a call made before that opens it itself."""
        if self._pool is None:
            from .pool import Pool

            self._pool = Pool(self.origin, self.policy)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def send(
        self,
        op: SendTarget,
        url: str,
        headers: CIMultiDict[str],
        data: Any,
        middlewares: Sequence[Any] = (),
        *,
        repeatable: bool = False,
        stream: bool = False,
    ) -> Awaitable[UpstreamResponse]:
        """Send under the policy: through the circuit breaker, which counts each call (not each attempt)
        once: a failure when it ends in a transport error, a timeout or a 5xx. The call is reported to
        the observer and noted on the request being served, when there are such.

        ``stream`` leaves a successful body open as :attr:`UpstreamResponse.stream`, holding its
        concurrency slot until it is closed."""
        call = self._send(op, url, headers, data, middlewares, repeatable, stream)
        if not hooks.watching():
            return call
        return hooks.observe_upstream(self.namespace, op, url, headers, call)

    async def _send(
        self,
        op: SendTarget,
        url: str,
        headers: CIMultiDict[str],
        data: Any,
        middlewares: Sequence[Any],
        repeatable: bool,
        stream: bool,
    ) -> UpstreamResponse:
        probe = self.breaker.check(op.qualified)
        try:
            response = await self._attempts(op, url, headers, data, middlewares, repeatable, stream)
        except (UpstreamTimeoutError, UpstreamUnavailableError):
            self.breaker.failure(probe)
            raise
        except BaseException:
            self.breaker.abandon(probe)
            raise
        if response.status in FAILURE_STATUSES:
            self.breaker.failure(probe)
        else:
            self.breaker.success(probe)
        return response

    async def _attempts(
        self,
        op: SendTarget,
        url: str,
        headers: CIMultiDict[str],
        data: Any,
        middlewares: Sequence[Any],
        repeatable: bool,
        stream: bool = False,
    ) -> UpstreamResponse:
        """Attempts, each with a slot in the gate, until one answers, the budget runs out, or a retry would
        not be safe (a connection that could not be opened may be retried for any call)."""
        policy = self.policy
        context = current_request()
        deadline = time.monotonic() + policy.timeouts.total
        if context is not None and context.deadline is not None:
            deadline = min(deadline, context.deadline)
        if self._pool is None:
            await self.start()
        pool = self._pool
        assert pool is not None
        attempt = 0
        while True:
            attempt += 1
            waited = 0.0 if self.gate.take() else await self.gate.enter(remaining(deadline))
            if context is not None:
                _note(context, waited)
            try:
                response = await pool.attempt(op, url, headers, data, middlewares, deadline, waited, stream)
            except (UpstreamTimeoutError, UpstreamUnavailableError) as failure:
                self.gate.leave()
                unsent = pool.unsent(failure)
                delay = backoff_delay(policy, attempt)
                if (repeatable or unsent) and self._again(op, attempt, delay, deadline, failure.detail):
                    await asyncio.sleep(delay)
                    continue
                raise
            except BaseException:
                self.gate.leave()
                raise
            if response.stream is not None:
                response.stream.on_close(self.gate.leave)  # the open body keeps its slot
                return response
            self.gate.leave()
            if repeatable and response.status in RETRY_STATUSES:
                wait = response.retry_after
                if wait is None:
                    wait = backoff_delay(policy, attempt)
                if wait <= policy.max_retry_after and self._again(
                    op, attempt, wait, deadline, f"HTTP {response.status}"
                ):
                    await asyncio.sleep(wait)
                    continue
            return response

    def _again(self, op: SendTarget, attempt: int, delay: float, deadline: float, why: str) -> bool:
        """Whether another attempt fits the policy and the budget; logs the retry when it does."""
        if attempt >= self.policy.attempts or remaining(deadline) < delay + MIN_ATTEMPT:
            return False
        log.info("retrying %s in %.2f s (attempt %d failed: %s)", op.qualified, delay, attempt, why)
        hooks.retried(self.namespace, op.qualified.removeprefix(self.namespace + "."))
        return True


def _note(context: RequestContext, waited: float) -> None:
    context.upstream_attempts += 1
    context.pool_wait += waited
