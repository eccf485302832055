"""A binary body streamed through to the REST caller (``outputRawFormat: binary`` on the called operation).

The upstream body is relayed chunk by chunk, never held whole. Its size limit is the operation's
``maxBinarySize``, else the adapter's, else 10 MiB. Before the status line is sent, up to
:data:`PREFETCH` bytes are read ahead: a body announced (``Content-Length``) or found over the limit in
that window, or an upstream failing in it, is answered with a ``problem+json`` (502 naming the limit,
or the upstream failure's status). Past that point the status is sent; a body that then grows past the
limit or breaks off has the connection cut (the caller sees a truncated body, never a complete-looking
one) and a warning logged with the reason and the bytes relayed.

Media type: the operation's ``outputMediaType``, else the first ``binary: true`` type of the exposed
operation's responses, else the upstream's ``Content-Type``, else ``application/octet-stream``.
Binary bodies are relayed unaltered: the redaction of bound secrets that text bodies get would corrupt
them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from starlette.types import Receive, Scope, Send

from ...consumes.stream import BinaryBody
from ...errors import RequestError
from .responses import error_response

log = logging.getLogger("naftiko.rest")

#: read ahead before the status is sent, so a small body's failure is still a clean problem
PREFETCH = 64 * 1024


class BinaryResponse:
    def __init__(
        self,
        body: BinaryBody,
        status: int,
        media_type: str,
        limit: int,
        label: str,
        redact: Callable[[str], str],
    ) -> None:
        self.body = body
        self.status = status
        self.media_type = media_type
        self.limit = limit
        self.label = label
        self.redact = redact

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._relay(scope, receive, send)
        finally:
            self.body.close()

    async def _relay(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body
        chunks = body.chunks(self.limit)
        head: list[bytes] = []
        size, complete = 0, True
        try:
            async for chunk in chunks:
                head.append(chunk)
                size += len(chunk)
                if size >= PREFETCH:
                    complete = False
                    break
        except RequestError as exc:
            await error_response(exc, self.redact)(scope, receive, send)
            return
        length = size if complete else body.content_length
        headers = [(b"content-type", self.media_type.encode("latin-1"))]
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        if complete:
            await send({"type": "http.response.body", "body": b"".join(head)})
            return
        await send({"type": "http.response.body", "body": b"".join(head), "more_body": True})
        await self._rest(chunks, receive, send)

    async def _rest(self, chunks: AsyncIterator[bytes], receive: Receive, send: Send) -> None:
        """Relay the remaining chunks; stop when the caller leaves, cut the connection on a failure."""
        gone = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(_watch(receive, gone))
        try:
            async for chunk in chunks:
                if gone.is_set():
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except RequestError as exc:
            # the status line is out: the only honest signal left is an incomplete response
            log.warning(
                "%s: %s; the connection is cut after reading %d bytes",
                self.label,
                self.redact(exc.detail),
                self.body.received,
            )
            return
        finally:
            watcher.cancel()
        await send({"type": "http.response.body", "body": b""})


async def _watch(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return
