"""An upstream body left open to be streamed: ``outputRawFormat: binary`` answered by a terminal call.

:meth:`~.send.Upstream.send` with ``stream=True`` returns after the headers, with the body still on its
connection. Whoever takes the :class:`BinaryBody` reads it once (:meth:`BinaryBody.chunks` or
:meth:`BinaryBody.read`) under a size limit, and must :meth:`~BinaryBody.close` it: closing frees the
connection and the upstream's concurrency slot, which the body holds while it is open. Nothing is
buffered beyond one network chunk; a limit is enforced before reading when the upstream announces the
length, and while reading otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errors import UpstreamTimeoutError, UpstreamTooLargeError, UpstreamUnavailableError

log = logging.getLogger("naftiko.upstream")

#: ``maxBinarySize`` when neither the operation nor the adapter declares one (the reference engine's)
DEFAULT_MAX_BINARY = 10 * 1024 * 1024

#: how much is read per step: one network chunk at most, never the whole body
CHUNK = 64 * 1024


class BinaryBody:
    """The open body of one upstream response (see the module)."""

    def __init__(self, response: Any, operation: str, origin: str, declared_limit: int | None = None) -> None:
        self._response = response
        self.operation = operation
        self.origin = origin
        #: the consumed operation's own ``maxBinarySize`` (it wins over the adapter's)
        self.declared_limit = declared_limit
        self.content_type: str = response.headers.get("Content-Type", "")
        length = response.headers.get("Content-Length")
        # a compressed body is read decompressed: its announced length is not the length of what is read
        encoded = response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
        known = length is not None and length.isdigit() and not encoded
        #: the length of the body as read, when the upstream announced it
        self.content_length: int | None = int(length) if known else None
        self._on_close: list[Callable[[], None]] = []
        self._closed = False
        self.received = 0

    def limit(self, adapter_limit: int | None) -> int:
        """The limit in force: the operation's, else the exposing adapter's, else the default."""
        if self.declared_limit is not None:
            return self.declared_limit
        return adapter_limit if adapter_limit is not None else DEFAULT_MAX_BINARY

    def too_large(self, limit: int) -> UpstreamTooLargeError:
        length = self.content_length
        announced = f" (it announced {length} bytes)" if length is not None else ""
        return UpstreamTooLargeError(
            f"{self.operation}: the upstream response exceeded maxBinarySize "
            f"(limit={limit} bytes){announced}",
            operation=self.operation,
            limit=limit,
        )

    def check_announced(self, limit: int) -> None:
        """Refuse before reading when the announced length is over ``limit``."""
        if self.content_length is not None and self.content_length > limit:
            raise self.too_large(limit)

    async def chunks(self, limit: int) -> AsyncIterator[bytes]:
        """The body, chunk by chunk; :class:`UpstreamTooLargeError` once it grows past ``limit``."""
        import aiohttp  # loaded with the pool that opened this body

        self.check_announced(limit)
        content = self._response.content
        while True:
            try:
                chunk = await content.read(CHUNK)
            except aiohttp.ClientPayloadError as exc:
                raise UpstreamUnavailableError(
                    f"{self.operation}: {self.origin} broke off its answer (the body is incomplete)",
                    operation=self.operation,
                ) from exc
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                raise UpstreamTimeoutError(
                    f"{self.operation}: {self.origin} stopped sending its body in time",
                    operation=self.operation,
                ) from exc
            except (aiohttp.ClientError, OSError) as exc:
                raise UpstreamUnavailableError(
                    f"{self.operation}: {self.origin} closed the connection while sending its body",
                    operation=self.operation,
                ) from exc
            if not chunk:
                return
            self.received += len(chunk)
            if self.received > limit:
                raise self.too_large(limit)
            yield chunk

    async def read(self, limit: int) -> bytes:
        """The whole body, at most ``limit`` bytes (for MCP, which sends it base64 in one message); closes."""
        try:
            return b"".join([chunk async for chunk in self.chunks(limit)])
        finally:
            self.close()

    def on_close(self, callback: Callable[[], None]) -> None:
        if self._closed:
            callback()
        else:
            self._on_close.append(callback)

    def close(self) -> None:
        """Free the connection (reused when the body was read to its end) and the upstream's slot."""
        if self._closed:
            return
        self._closed = True
        response = self._response
        if response.content.at_eof():
            response.release()
        else:  # left unread: this connection cannot carry another request
            response.close()
        for callback in self._on_close:
            try:
                callback()
            except Exception:  # a slot's release must not hide the request's own outcome
                log.exception("releasing %s failed", self.operation)
