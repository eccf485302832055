"""A forward resource: the request goes on to a consumed namespace, trusted headers only, with that
consumer's fixed parameters and credentials (:meth:`~naftiko_runtime.consumes.http.HttpConsumer.forward`)."""

from __future__ import annotations

import logging
import math

from starlette.requests import Request

from ...consumes.http import HttpConsumer
from ...engine import Outcome, Runtime
from ...errors import RequestError
from ...observability.context import note_operation
from ...spec import model as m
from .responses import (
    Responder,
    TooLarge,
    error_response,
    outcome_response,
    problem,
    read_body,
    too_large,
)

log = logging.getLogger("naftiko.rest")


class Forward:
    def __init__(self, runtime: Runtime, config: m.ForwardConfig, template: str = "") -> None:
        self.runtime = runtime
        #: the resource's path template, naming the forward in metrics and access lines
        self.template = template
        self.consumer: HttpConsumer = runtime.consumers[config.target_namespace]
        self.trusted = frozenset(h.lower() for h in config.trusted_headers)

    async def respond(self, request: Request, tail: str | None) -> Responder:
        note_operation(f"{request.method} {self.template}")
        try:
            return await self._proxy(request, tail)
        except RequestError as exc:
            return error_response(exc, self.runtime.redact)
        except TooLarge:
            return too_large()
        except Exception:
            log.exception("forward to %s failed", self.consumer.namespace)
            return problem(500, "Internal server error", "the forward failed; the server log has the details")

    async def _proxy(self, request: Request, tail: str | None) -> Responder:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() in self.trusted]
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = await read_body(request)
        response = await self.consumer.forward(request.method, tail, headers, body, query=query)
        outcome = Outcome(response.status, raw=response.body, content_type=response.content_type or None)
        extra = None
        if response.retry_after is not None:  # an upstream 429 or 503 says when to come back
            extra = {"Retry-After": str(max(1, math.ceil(response.retry_after)))}
        return outcome_response(outcome, self.runtime.redact, extra)
