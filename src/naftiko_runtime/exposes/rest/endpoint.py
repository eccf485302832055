"""One exposed REST operation, compiled: its inputs, its :class:`~naftiko_runtime.engine.Invocation`,
and the response it makes of the outcome or the failure."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope

from ...consumes.http import BoundOperation
from ...engine import Invocation, Runtime
from ...errors import InvalidInputError, RequestError
from ...expressions import MISSING
from ...observability.context import note_operation
from ...spec import model as m
from ..schema import Sources, exposed_inputs
from .binary import BinaryResponse
from .checks import Verify, compile_constraints, compile_implicit
from .inputs import Call, Input, compile_input, declared_inputs, implicit_inputs, parse_json
from .openapi import implicit_parameters, reads_request
from .responses import (
    Responder,
    TooLarge,
    error_response,
    has_body,
    outcome_response,
    problem,
    read_body,
    too_large,
)

log = logging.getLogger("naftiko.rest")


@dataclass(slots=True)
class Endpoint:
    label: str
    invocation: Invocation
    redact: Callable[[str], str]
    bind_scopes: Sequence[Mapping[str, Any]]
    path_names: tuple[str, ...]
    inputs: tuple[Input, ...] | None  # None: implicit inputs (path variables, query, body)
    reads_body: bool
    #: implicit inputs also read these request headers (the called operation's ``in: header`` parameters)
    header_inputs: tuple[str, ...] = ()
    #: why a request body would go nowhere (the called operation sends none), or None
    no_body: str | None = None
    #: a binary body's media type from the declared responses, and the adapter's size limit
    binary_media: str | None = None
    max_binary: int | None = None
    #: what the readers leave to check (enums, array items; what implicit inputs must hold), or None
    checks: Verify | None = None

    async def respond(self, scope: Scope, receive: Receive, path_values: Sequence[str]) -> Responder:
        note_operation(self.label)
        try:
            # a Starlette request is made only to read what the path does not give: body, query, headers
            request = None
            raw = b""
            if (self.reads_body or self.no_body is not None) and has_body(scope):
                request = Request(scope, receive)
                raw = await read_body(request)
            if self.no_body is not None and raw.strip():
                raise InvalidInputError(self.no_body, location="body")
            body = parse_json(raw) if self.reads_body and raw else MISSING
            path = dict(zip(self.path_names, path_values, strict=True))
            if self.inputs is None and not (self.header_inputs or scope["query_string"]):
                inputs = path if body is MISSING else {"body": body, **path}
            else:
                request = request or Request(scope, receive)
                if self.inputs is None:
                    inputs = implicit_inputs(request, path, body, self.header_inputs)
                else:
                    inputs = declared_inputs(self.inputs, Call(request, path, body), self.bind_scopes)
            if self.checks is not None:
                self.checks.verify(inputs)
            outcome = await self.invocation.run(inputs)
        except RequestError as exc:
            return error_response(exc, self.redact)
        except TooLarge:
            return too_large()
        except Exception:
            log.exception("%s failed", self.label)
            return problem(
                500,
                "Internal server error",
                f"{self.label} failed unexpectedly; the server log has the details",
            )
        if outcome.stream is not None:
            stream = outcome.stream
            media = outcome.content_type or self.binary_media or stream.content_type
            limit = stream.limit(self.max_binary)
            return BinaryResponse(
                stream, outcome.status, media or "application/octet-stream", limit, self.label, self.redact
            )
        return outcome_response(outcome, self.redact)


def compile_endpoint(
    adapter: m.ExposesRest,
    runtime: Runtime,
    resource: m.ExposedResource,
    op: m.ExposedOperation,
    path_names: tuple[str, ...],
) -> Endpoint:
    label = f"{op.method} {resource.path_template}"
    declared = m.effective_inputs(resource.input_parameters, op.input_parameters)
    body_count = sum(1 for p in declared if p.in_ == "body")
    environ = runtime.bindings.environ
    sources = Sources(runtime.document, runtime.bind_scopes)
    derived = exposed_inputs(sources, declared, op.invocable)
    inputs = (
        tuple(
            compile_input(p, body_count == 1, environ, required if reads_request(p) else None)
            for p, _, required in derived
        )
        if declared
        else None
    )
    checks: Verify | None
    if inputs is not None:
        schemas = {p.name: schema for p, schema, _ in derived if reads_request(p)}
        checks = compile_constraints(inputs, schemas)
    else:
        checks = compile_implicit(implicit_parameters(sources, resource, op))
    reads_body = inputs is None or body_count > 0
    invocation = runtime.invocation(op.name or label, op.invocable)
    headers: tuple[str, ...] = ()
    no_body = None
    target = _called(runtime, op.invocable)
    if target is not None:
        params = (*target.consumer.spec.input_parameters, *target.spec.input_parameters)
        if inputs is None:
            headers = tuple(p.name for p in params if p.in_ == "header" and p.value is None)
        takes_body = target.spec.body is not None or any(p.in_ == "body" for p in params)
        if not takes_body and body_count == 0 and not op.invocable.with_:
            no_body = f"{label} takes no request body: {target.qualified} sends none, so it would be lost"
    return Endpoint(
        label,
        invocation,
        runtime.redact,
        runtime.bind_scopes,
        path_names,
        inputs,
        reads_body,
        header_inputs=headers,
        no_body=no_body,
        binary_media=op.binary_media_type,
        max_binary=adapter.max_binary_size,
        checks=checks,
    )


def _called(runtime: Runtime, invocable: m.Invocable) -> BoundOperation | None:
    """The one consumed operation a plain ``call`` invokes (not steps or an aggregate ``ref``)."""
    if invocable.call is None or invocable.steps or invocable.ref is not None:
        return None
    try:
        return runtime.operation(invocable.call)
    except KeyError:
        return None
