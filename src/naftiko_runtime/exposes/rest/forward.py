"""A forward resource: the request goes on to a consumed namespace, trusted headers only, with that
consumer's fixed parameters and credentials (:meth:`~naftiko_runtime.consumes.http.HttpConsumer.forward`).

A success passes through as the upstream sent it; a failure status follows the one error contract of every
route (a problem document carrying ``upstreamStatus`` and ``upstreamBody``).
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from ...consumes.http import HttpConsumer
from ...engine import Outcome, Runtime
from ...engine.responses import status_error
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
        if response.status >= 400:
            raise status_error(self.consumer.forward_name, response, self.runtime.redact)
        outcome = Outcome(response.status, raw=response.body, content_type=response.content_type or None)
        return outcome_response(outcome, self.runtime.redact)
