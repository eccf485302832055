"""The HTTP/1.1 protocol the servers run: uvicorn's httptools protocol with limits on the request head.

httptools itself accepts a head of any size and a connection may stay silent forever; here a request
head larger than :data:`MAX_HEAD_BYTES` or with more than :data:`MAX_HEADERS` header lines is answered
431 and the connection closed, and a connection that has not sent a complete head within
:data:`HEAD_TIMEOUT` seconds of opening (or of starting its next request) is closed without a word in the
log beyond debug. Idle keep-alive connections close after uvicorn's ``timeout_keep_alive``. With h11
(when httptools is missing) the head size is capped by h11's own limit, set to the same size.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
HEAD_TIMEOUT = 10.0
KEEP_ALIVE_TIMEOUT = 5

log = logging.getLogger("naftiko.http")

_TOO_LARGE = (
    b'{"type":"about:blank","title":"Request header fields too large","status":431,'
    b'"detail":"the request head exceeds %d bytes or %d header lines"}' % (MAX_HEAD_BYTES, MAX_HEADERS)
)
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/problem+json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
)


@cache
def limited_httptools() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with the head limits above (built on first use: httptools is optional)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class LimitedHttpTools(HttpToolsProtocol):
        #: bytes of a head still incomplete after its reads, and the size of the read being parsed
        _head_bytes = 0
        _read = 0
        _in_head = True
        _head_timer: asyncio.TimerHandle | None = None
        _head_began = 0.0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._head_began = self.loop.time()
            self._arm(HEAD_TIMEOUT)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._read = len(data)
            super().data_received(data)
            # counted after parsing: a read that completed the head may carry the body too, which is no
            # part of it; a read that did not was all head (a read is at most the loop's buffer)
            if self._in_head and not self.transport.is_closing():
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head, self._head_bytes = True, 0
            self._head_began = self.loop.time()
            if self._head_timer is None:
                self._arm(HEAD_TIMEOUT)

        def on_headers_complete(self) -> None:
            if self.transport.is_closing():
                return
            # checked once the head is parsed (a read is at most the loop's buffer, so is what it
            # parsed), and measured only when its reads could hold more than the limit
            if len(self.headers) > MAX_HEADERS or (
                self._head_bytes + self._read > MAX_HEAD_BYTES
                and len(self.url) + sum(len(n) + len(v) for n, v in self.headers) > MAX_HEAD_BYTES
            ):
                self._refuse()
                return
            # the timer stays armed: re-arming it for every request of a keep-alive connection would
            # cost more than the request's own parsing; when it fires it looks at the head in progress
            self._in_head = False
            super().on_headers_complete()

        def _refuse(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                log.warning("refused a request head over %d bytes or %d lines", MAX_HEAD_BYTES, MAX_HEADERS)
                self.transport.write(_431)
                self.transport.close()

        def _arm(self, delay: float) -> None:
            self._head_timer = self.loop.call_later(delay, self._head_timeout)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self) -> None:
            self._head_timer = None
            if not self._in_head or self.transport.is_closing():
                return  # between requests: the keep-alive timeout governs, the next head re-arms this
            left = self._head_began + HEAD_TIMEOUT - self.loop.time()
            if left > 0:
                self._arm(left)  # this head began after the timer was set
            else:
                log.debug("closed a connection that sent no complete request head in %g s", HEAD_TIMEOUT)
                self.transport.close()

    return LimitedHttpTools


def protocol_options(http: str) -> dict[str, Any]:
    """uvicorn ``Config`` options for the protocol named ``http`` (``httptools`` or ``h11``)."""
    if http == "httptools":
        return {"http": limited_httptools(), "timeout_keep_alive": KEEP_ALIVE_TIMEOUT}
    return {
        "http": "h11",
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
    }


__all__ = ["HEAD_TIMEOUT", "MAX_HEADERS", "MAX_HEAD_BYTES", "limited_httptools", "protocol_options"]
