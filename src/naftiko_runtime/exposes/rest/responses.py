"""What the REST adapter answers: JSON scrubbed of bound secrets, problems, and the request body it reads.

Every body rendered here goes through the runtime's redactor, so not even an upstream that echoes our
credentials can make a bound secret leave the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ...binds import Redactor
from ...engine import Outcome
from ...errors import RequestError
from ...formats.json import dumps
from ...problem import Problem, ProblemResponse

#: Request bodies larger than this are refused with 413.
MAX_BODY_BYTES = 1 << 20

Redact = Callable[[str], str]
#: anything the adapter answers with: a Starlette response or a problem
Responder = Callable[[Scope, Receive, Send], Awaitable[None]]


class JsonResponse(Response):
    """Compact JSON, scrubbed of bound secrets: an upstream that echoes our credentials must not leak them."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        redact: Redact | None = None,
    ) -> None:
        self._redact = redact
        super().__init__(content, status_code, headers)

    def render(self, content: Any) -> bytes:
        body = dumps(content)
        redact = self._redact
        if redact is None:
            return body
        if isinstance(redact, Redactor):
            return redact.bytes(body)
        return redact(body.decode("utf-8")).encode("utf-8")


def problem(
    status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None
) -> ProblemResponse:
    """A problem the adapter itself raises (404, 405, 413, 500): nothing in it comes from elsewhere."""
    return ProblemResponse(Problem(status, title, detail, headers=headers or {}))


def error_response(exc: RequestError, redact: Redact) -> Responder:
    """The response for a failed call: always a problem (an upstream's own error body is a member)."""
    return ProblemResponse(Problem.of(exc), redact)


def too_large() -> ProblemResponse:
    return problem(413, "Content too large", f"the request body exceeds {MAX_BODY_BYTES} bytes")


class Answer:
    """A finished answer: status, head and body, sent as they are (the request path's response, without the
    header normalising a Starlette ``Response`` does on every construction)."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: bytes, content_type: str, extra: Mapping[str, str] | None) -> None:
        self.status = status
        self.body = body
        self.headers = [(b"content-length", b"%d" % len(body)), _content_type(content_type)]
        if extra:
            self.headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


_CONTENT_TYPES: dict[str, tuple[bytes, bytes]] = {}


def _content_type(value: str) -> tuple[bytes, bytes]:
    """The ``content-type`` header for ``value``, encoded once per value (a bounded few are kept)."""
    header = _CONTENT_TYPES.get(value)
    if header is None:
        header = (b"content-type", value.encode("latin-1"))
        if len(_CONTENT_TYPES) < 64:
            _CONTENT_TYPES[value] = header
    return header


def outcome_response(
    outcome: Outcome, redact: Redact, headers: Mapping[str, str] | None = None
) -> Response | Answer:
    if outcome.empty:
        return Response(status_code=outcome.status, headers=headers)
    if outcome.raw is not None:
        raw = outcome.raw
        if isinstance(redact, Redactor):
            raw = redact.bytes(raw)
        else:
            try:
                raw = redact(raw.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                pass
        return Answer(outcome.status, raw, outcome.content_type or "application/octet-stream", headers)
    return JsonResponse(outcome.data, status_code=outcome.status, headers=headers, redact=redact)


class TooLarge(Exception):
    """The request body exceeds :data:`MAX_BODY_BYTES`."""


def has_body(scope: Scope) -> bool:
    """Whether the request has a body at all (HTTP/1.1 frames one by its length or chunked coding)."""
    for key, _ in scope["headers"]:
        if key == b"content-length" or key == b"transfer-encoding":
            return True
    return False


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused (:class:`TooLarge`) as soon as it is known to exceed ``limit``."""
    length: bytes | None = None
    for key, value in request.scope["headers"]:
        if key == b"content-length":
            length = value
        elif key == b"transfer-encoding":
            length = b"chunked"
    if length is None or length == b"0":
        return b""  # most GETs: no need to go through receive()
    if length.isdigit() and int(length) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
