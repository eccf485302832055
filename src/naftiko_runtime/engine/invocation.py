"""A compiled invocable: ``await run(inputs)`` binds ``with``, then calls its consumed operation,
delegates to an aggregate function, runs its steps or answers from its mock outputs, and shapes the
result with its ``outputParameters``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..binds import Redactor
from ..consumes.http import BoundOperation, UpstreamResponse
from ..errors import InvalidInputError
from ..expressions import MISSING, JsonPath
from ..formats.json import valid
from ..shaping import OutputShaper, compile_outputs
from .binding import WithEntry, apply_with
from .outcome import Outcome, Scopes
from .responses import decode, looks_json, status_error
from .steps import Step


@dataclass
class Invocation:
    name: str
    #: the binds, the first name scopes of every template
    scopes: Scopes = ()
    redact: Redactor = field(default_factory=Redactor)
    with_: tuple[WithEntry, ...] = ()
    operation: BoundOperation | None = None
    shaper: OutputShaper = field(default_factory=lambda: compile_outputs(()))
    mock: OutputShaper | None = None
    delegate: Invocation | None = None
    steps: tuple[Step, ...] = ()
    #: ``mappings``: (target name split on dots, the JSONPath over the step context)
    mappings: tuple[tuple[tuple[str, ...], JsonPath], ...] = ()
    #: the inputs an aggregate function declares required, checked whichever adapter calls it
    required: tuple[str, ...] = ()
    #: declared safe to repeat (MCP hints, aggregate semantics): its upstream call may be retried
    idempotent: bool = False

    async def run(self, inputs: Mapping[str, Any]) -> Outcome:
        for name in self.required:
            if inputs.get(name) in (None, ""):
                raise InvalidInputError(f"{self.name} needs input '{name}'", parameter=name)
        scopes = self.scopes
        args = apply_with(self.with_, inputs, scopes)
        if self.delegate is not None:
            outcome = await self.delegate.run(args)
            if self.shaper.identity is None and not outcome.empty:
                value = outcome.value()
                if value is not None:
                    shaped = self.shaper.apply(value, (*scopes, args), self.name)
                    outcome = Outcome(outcome.status, data=shaped)
            return outcome
        if self.steps:
            return await self._run_steps(args, scopes)
        if self.operation is None:
            data = self.mock.apply(None, (*scopes, args), self.name) if self.mock is not None else {}
            return Outcome(200, data=data)
        op = self.operation
        response = await op.call(args, scopes, idempotent=self.idempotent, stream=op.binary)
        return self._finish(response, args, scopes)

    def _finish(self, response: UpstreamResponse, args: Mapping[str, Any], scopes: Scopes) -> Outcome:
        op = self.operation
        assert op is not None
        status = response.status
        if status >= 400:
            raise status_error(op.qualified, response, self.redact)
        if response.stream is not None:  # binary: passed on unread, outputs do not apply
            return Outcome(status, stream=response.stream, content_type=op.spec.output_media_type)
        body = response.body
        if not body or body.isspace():
            return Outcome(status, data=None, empty=True)
        identity = self.shaper.identity
        if identity is not None and op.spec.output_raw_format == "json":
            if looks_json(response.content_type, body):
                head = body[:1] if body[:1] in (b"{", b"[") else body.lstrip()[:1]
                fits = identity == "any" or head == (b"{" if identity == "object" else b"[")
                # passed through unparsed, but checked: a malformed body is a payload error, not a 200
                if fits and valid(body):
                    return Outcome(status, raw=body, content_type="application/json", raw_json=True)
            elif identity == "any" and self.shaper.passthrough:
                return Outcome(status, raw=body, content_type=response.content_type or None)
        payload = decode(op, response, self.redact)
        return Outcome(status, data=self.shaper.apply(payload, (*scopes, args), op.qualified))

    async def _run_steps(self, params: dict[str, Any], scopes: Scopes) -> Outcome:
        context: dict[str, Any] = {}
        last: Outcome | None = None
        for step in self.steps:
            outcome = await step.run(params, context, scopes)
            if outcome is not None:
                last = outcome
        if self.mappings:
            result: dict[str, Any] = {}
            resolved = False
            for target, path in self.mappings:
                value = path.find(context)
                if value is MISSING:
                    continue
                resolved = True
                node = result
                for part in target[:-1]:
                    node = node.setdefault(part, {})
                node[target[-1]] = value
            if resolved:
                return Outcome(200, data=result)
        if last is None:
            return Outcome(200, data={})
        if not self.shaper.passthrough and last.data is not None:
            last.data = self.shaper.apply(last.data, (*scopes, params), self.name)
        return last
