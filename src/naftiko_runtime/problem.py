"""Problem documents (RFC 9457): the one shape in which every HTTP surface reports a failure.

REST errors, inbound authentication refusals and forwards all render through :class:`ProblemResponse`;
the MCP exposer reports the same document as a tool error's ``structuredContent.error``. A field has one
spelling on every surface: camelCase, as JSON APIs and MCP name things (``upstreamStatus``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from .errors import RequestError

PROBLEM_JSON = "application/problem+json"

#: The problem document every surface answers with, as its OpenAPI description shows it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "parameter": {"type": "string", "description": "the input at fault"},
        "in": {"type": "string", "description": "where that input is read from"},
        "jsonPath": {"type": "string", "description": "where in the JSON body the fault is"},
        "operation": {"type": "string", "description": "the consumed operation that failed"},
        "upstreamStatus": {"type": "integer", "description": "the status the upstream answered"},
        "upstreamBody": {
            "description": "the upstream's own error body: its JSON, or its text (redacted, at most 4096 "
            "characters)"
        },
        "retryAfter": {
            "type": "integer",
            "description": "seconds to wait before trying again (as Retry-After)",
        },
    },
    "required": ["type", "title", "status"],
}


def field_name(key: str) -> str:
    """An error's data key as every surface spells it: ``upstream_status`` -> ``upstreamStatus``."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def error_fields(exc: RequestError) -> dict[str, Any]:
    """``title``, ``detail`` and the error's own data (parameter, operation, upstream status, ...)."""
    fields: dict[str, Any] = {"title": exc.title, "detail": exc.detail}
    fields.update((field_name(k), v) for k, v in exc.extensions.items() if v is not None)
    return fields


def problem_type(exc: RequestError) -> str:
    """``urn:naftiko:problem:upstream-timeout`` for an ``UpstreamTimeoutError``, and so on."""
    name = type(exc).__name__.removesuffix("Error")
    return "urn:naftiko:problem:" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


@dataclass(frozen=True, slots=True)
class Problem:
    """One failure to report over HTTP: its status, title, detail, type and extension fields."""

    status: int
    title: str
    detail: str
    type: str = "about:blank"
    extensions: Mapping[str, Any] = field(default_factory=dict)
    #: response headers that go with it (``Allow``, ``WWW-Authenticate``, ``Retry-After``)
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, exc: RequestError) -> Problem:
        fields = error_fields(exc)
        del fields["title"], fields["detail"]
        return cls(exc.http_status, exc.title, exc.detail, problem_type(exc), fields, exc.headers)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update((field_name(k), v) for k, v in self.extensions.items() if v is not None)
        return body


class ProblemResponse:
    """An ASGI response carrying a :class:`Problem` as ``application/problem+json``.

    ``redact`` scrubs bound secrets from the rendered text (a detail may quote an upstream's words).
    """

    __slots__ = ("status", "body", "headers")

    def __init__(self, problem: Problem, redact: Callable[[str], str] | None = None) -> None:
        text = json.dumps(problem.body(), separators=(",", ":"), ensure_ascii=False)
        self.status = problem.status
        self.body = (redact(text) if redact is not None else text).encode("utf-8")
        self.headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(self.body)).encode()),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.emit(send)

    async def emit(self, send: Send) -> None:
        """Send the response (for middleware that answers without the request's scope at hand)."""
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_SCHEMA",
    "Problem",
    "ProblemResponse",
    "error_fields",
    "field_name",
    "problem_type",
]
