"""One consumed API's connection pool: the ``aiohttp`` session, one attempt of a request, and aiohttp's
failures turned into the runtime's errors.

This is the only module of the outbound path that imports aiohttp (about a quarter of a second of
start-up): :class:`~.send.Upstream` imports it when it opens its pool, which ``naftiko serve`` does once
its adapters answer, so a server is ready before the HTTP client is loaded. A timeout says which limit
ran out (and the time spent waiting for a free connection, which is ours, not the upstream's); a broken
connection says whether the request ever left.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ..errors import UpstreamTimeoutError, UpstreamUnavailableError
from ..observability.context import note_upstream_status
from .deadlines import Deadlines
from .oauth2 import OAuthError
from .resilience import Policy, parse_retry_after, remaining
from .send import MIN_ATTEMPT, SendTarget, UpstreamResponse
from .stream import BinaryBody

#: methods whose empty body aiohttp would otherwise label application/octet-stream
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))

#: how much of a failed streamed response is read for its error message
ERROR_BODY = 64 * 1024

#: failures that happened before the request left: any call may be retried after them
_UNSENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class Pool:
    """The session of one consumed API: as many connections as its gate lets calls in."""

    def __init__(self, origin: str, policy: Policy) -> None:
        self.origin = origin
        self.timeouts = policy.timeouts
        # the pool is as large as the gate: a call that got a slot never waits for a connection
        connector = aiohttp.TCPConnector(limit=policy.limit, ttl_dns_cache=300, keepalive_timeout=30)
        t = self.timeouts
        # no ``total`` on the session: a first attempt's budget is kept by :class:`~.deadlines.Deadlines`
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=t.connect, sock_read=t.read)
        self.deadlines = Deadlines(t.total)
        # no skip_auto_headers: aiohttp rebuilds header maps on every request when it is set (measured:
        # about 10% of a proxied call); the runtime's own User-Agent replaces aiohttp's instead
        # no cookie jar: the pool serves every caller, so a cookie one caller's call brought back must
        # not ride along on the next caller's calls (cookies a call sends are its own ``in: cookie``)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        self.deadlines.close()
        await self.session.close()

    @staticmethod
    def unsent(failure: BaseException) -> bool:
        """Whether the failure behind ``failure`` happened before the request left."""
        return isinstance(failure.__cause__, _UNSENT)

    async def attempt(
        self,
        op: SendTarget,
        url: str,
        headers: CIMultiDict[str],
        data: Any,
        middlewares: Sequence[Any],
        deadline: float,
        waited: float,
        stream: bool = False,
    ) -> UpstreamResponse:
        """One attempt; ``stream`` leaves a successful body open (:class:`~.stream.BinaryBody`)."""
        t = self.timeouts
        budget = max(remaining(deadline), MIN_ATTEMPT)
        kwargs: dict[str, Any] = {"headers": headers, "data": data, "allow_redirects": False}
        watch = None
        if stream or budget < t.total - 0.01:  # a retry, a caller's deadline, a body read later
            kwargs["timeout"] = aiohttp.ClientTimeout(total=budget, sock_connect=t.connect, sock_read=t.read)
        else:
            watch = self.deadlines.watch()
        if middlewares:
            kwargs["middlewares"] = tuple(middlewares)
        if data is None and op.method in _BODY_METHODS and "Content-Type" not in headers:
            kwargs["skip_auto_headers"] = ("Content-Type",)  # aiohttp would label nothing octet-stream
        queued = f" (after {waited:.2f} s waiting for a free connection)" if waited >= 0.01 else ""
        try:
            if stream:
                return await self._open(op, url, kwargs)
            async with self.session.request(op.method, URL(url, encoded=True), **kwargs) as resp:
                body = await resp.read()
                note_upstream_status(resp.status)
                return _answer(resp, body)
        except asyncio.CancelledError as exc:
            if watch is None or not watch.timed_out():
                raise
            raise self._late(op, queued) from exc
        except OAuthError as exc:
            raise UpstreamUnavailableError(f"{op.qualified}: {exc}", operation=op.qualified) from exc
        except aiohttp.SocketTimeoutError as exc:
            raise UpstreamTimeoutError(
                f"{op.qualified}: {self.origin} sent nothing for {t.read:g} s{queued}", operation=op.qualified
            ) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise self._late(op, queued) from exc
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
        finally:
            if watch is not None:
                self.deadlines.end(watch)

    def _late(self, op: SendTarget, queued: str) -> UpstreamTimeoutError:
        """The call's total budget ran out (aiohttp's timeout, or :class:`~.deadlines.Deadlines`')."""
        detail = f"{op.qualified}: {self.origin} did not answer within {self.timeouts.total:g} s{queued}"
        return UpstreamTimeoutError(detail, operation=op.qualified)

    async def _open(self, op: SendTarget, url: str, kwargs: dict[str, Any]) -> UpstreamResponse:
        """The response with its body left open (a failure status is read, up to :data:`ERROR_BODY`)."""
        resp = await self.session.request(op.method, URL(url, encoded=True), **kwargs)
        note_upstream_status(resp.status)
        if resp.status >= 400:
            try:
                body = b""
                while len(body) < ERROR_BODY:
                    chunk = await resp.content.read(ERROR_BODY - len(body))
                    if not chunk:
                        break
                    body += chunk
                return _answer(resp, body)
            finally:
                resp.close()
        answer = _answer(resp, b"")
        answer.stream = BinaryBody(resp, op.qualified, self.origin)
        return answer


def _answer(resp: aiohttp.ClientResponse, body: bytes) -> UpstreamResponse:
    retry_after = None
    if resp.status in (429, 503):
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    return UpstreamResponse(
        resp.status, resp.reason or "", resp.headers.get("Content-Type", ""), body, retry_after
    )


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


__all__ = ["Pool"]
