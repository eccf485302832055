"""Sending one request to a consumed API under its :class:`~.resilience.Policy`.

:class:`Upstream` owns the namespace's connection pool (one ``aiohttp.ClientSession``), its
:class:`~.resilience.Gate` and :class:`~.resilience.Breaker`. :meth:`Upstream.send` makes the attempts
and turns aiohttp's failures into the runtime's errors: a timeout says which limit ran out (and the time
spent waiting for a free connection, which is ours, not the upstream's), a broken connection says whether
the request ever left.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ..errors import UpstreamTimeoutError, UpstreamUnavailableError
from ..observability import hooks
from ..observability.context import RequestContext, current_request, note_upstream_status
from ..observability.hooks import observed_upstream
from .oauth2 import OAuthError
from .resilience import (
    FAILURE_STATUSES,
    RETRY_STATUSES,
    Breaker,
    Gate,
    Policy,
    backoff_delay,
    parse_retry_after,
    remaining,
)

log = logging.getLogger("naftiko.upstream")

#: an attempt is only worth making with at least this much of the budget left (seconds)
MIN_ATTEMPT = 0.05


#: methods whose empty body aiohttp would otherwise label application/octet-stream
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    reason: str
    content_type: str
    body: bytes
    #: seconds from the upstream's ``Retry-After`` (on 429 and 503), if it sent one
    retry_after: float | None = None

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
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            # the pool is as large as the gate: a call that got a slot never waits for a connection
            connector = aiohttp.TCPConnector(limit=self.policy.limit, ttl_dns_cache=300, keepalive_timeout=30)
            timeout = aiohttp.ClientTimeout(total=self.timeouts.total, sock_connect=self.timeouts.connect)
            # no skip_auto_headers: aiohttp rebuilds header maps on every request when it is set (measured:
            # about 10% of a proxied call); the runtime's own User-Agent replaces aiohttp's instead
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @observed_upstream
    async def send(
        self,
        op: SendTarget,
        url: str,
        headers: CIMultiDict[str],
        data: Any,
        middlewares: Sequence[Any] = (),
        *,
        repeatable: bool = False,
    ) -> UpstreamResponse:
        """Send under the policy: through the circuit breaker, which counts each call (not each attempt)
        once: a failure when it ends in a transport error, a timeout or a 5xx."""
        probe = self.breaker.check(op.qualified)
        try:
            response = await self._attempts(op, url, headers, data, middlewares, repeatable)
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
    ) -> UpstreamResponse:
        """Attempts, each with a slot in the gate, until one answers, the budget runs out, or a retry would
        not be safe (a connection that could not be opened may be retried for any call)."""
        policy = self.policy
        context = current_request()
        deadline = time.monotonic() + policy.timeouts.total
        if context is not None and context.deadline is not None:
            deadline = min(deadline, context.deadline)
        attempt = 0
        while True:
            attempt += 1
            waited = await self.gate.enter(remaining(deadline))
            _note(context, waited)
            try:
                response = await self._attempt(op, url, headers, data, middlewares, deadline, waited)
            except (UpstreamTimeoutError, UpstreamUnavailableError) as failure:
                self.gate.leave()
                unsent = isinstance(failure.__cause__, _UNSENT)
                delay = backoff_delay(policy, attempt)
                if (repeatable or unsent) and self._again(op, attempt, delay, deadline, failure.detail):
                    await asyncio.sleep(delay)
                    continue
                raise
            except BaseException:
                self.gate.leave()
                raise
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

    async def _attempt(
        self,
        op: SendTarget,
        url: str,
        headers: CIMultiDict[str],
        data: Any,
        middlewares: Sequence[Any],
        deadline: float,
        waited: float,
    ) -> UpstreamResponse:
        if self._session is None:
            await self.start()
        session = self._session
        assert session is not None
        t = self.timeouts
        budget = max(remaining(deadline), MIN_ATTEMPT)
        kwargs: dict[str, Any] = {
            "headers": headers,
            "data": data,
            "allow_redirects": False,
            "timeout": aiohttp.ClientTimeout(total=budget, sock_connect=t.connect, sock_read=t.read),
        }
        if middlewares:
            kwargs["middlewares"] = tuple(middlewares)
        if data is None and op.method in _BODY_METHODS and "Content-Type" not in headers:
            kwargs["skip_auto_headers"] = ("Content-Type",)  # aiohttp would label nothing octet-stream
        queued = f" (after {waited:.2f} s waiting for a free connection)" if waited >= 0.01 else ""
        try:
            async with session.request(op.method, URL(url, encoded=True), **kwargs) as resp:
                body = await resp.read()
                note_upstream_status(resp.status)
                retry_after = None
                if resp.status in (429, 503):
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                return UpstreamResponse(
                    resp.status, resp.reason or "", resp.headers.get("Content-Type", ""), body, retry_after
                )
        except OAuthError as exc:
            raise UpstreamUnavailableError(f"{op.qualified}: {exc}", operation=op.qualified) from exc
        except aiohttp.SocketTimeoutError as exc:
            raise UpstreamTimeoutError(
                f"{op.qualified}: {self.origin} sent nothing for {t.read:g} s{queued}", operation=op.qualified
            ) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeoutError(
                f"{op.qualified}: {self.origin} did not answer within {t.total:g} s{queued}",
                operation=op.qualified,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            reason = _reason(exc.os_error)
            raise UpstreamUnavailableError(
                f"{op.qualified}: cannot connect to {self.origin} ({reason})", operation=op.qualified
            ) from exc
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamUnavailableError(
                f"{op.qualified}: {self.origin} broke off its answer (the body is incomplete)",
                operation=op.qualified,
            ) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise UpstreamUnavailableError(
                f"{op.qualified}: {self.origin} closed the connection before answering",
                operation=op.qualified,
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailableError(
                f"{op.qualified}: request to {self.origin} failed ({type(exc).__name__})",
                operation=op.qualified,
            ) from exc


#: failures that happened before the request left: any call may be retried after them
_UNSENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


def _note(context: RequestContext | None, waited: float) -> None:
    if context is not None:
        context.upstream_attempts += 1
        context.pool_wait += waited


def _reason(error: OSError | None) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "host name not resolved"
    if isinstance(error, TimeoutError):
        return "connect timeout"
    if error is not None and error.strerror:
        return error.strerror.lower()
    return "connection failed"
