"""Orchestration steps, one row of :data:`STEPS` per step ``type``.

A row compiles a step once; the compiled step runs against the invocation's parameters and the step
context (every step's result by step name). A type whose row is ``None`` is valid in the spec but not
implemented here: :func:`check_steps` reports it at load, with its position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..binds import Redactor
from ..consumes.http import BoundOperation
from ..errors import UnsupportedFeatureError
from ..expressions import MISSING, JsonPath, Template, compile_jsonpath, compile_template
from ..spec import model as m
from ..spec.findings import Finding, Severity, format_path
from ..spec.loader import LoadResult
from .binding import WithEntry, apply_with, compile_with
from .outcome import Outcome, Scopes
from .responses import decode, status_error
from .scripting import compile_script


class Upstreams(Protocol):
    """What compiling a step needs: the document, its consumed operations, and the redactor for errors."""

    @property
    def document(self) -> m.NaftikoDocument: ...

    @property
    def redact(self) -> Redactor: ...

    def operation(self, call: str) -> BoundOperation: ...


class Step(Protocol):
    """A compiled step: records its result in ``context`` (and, for a call, in ``params``)."""

    @property
    def name(self) -> str: ...

    async def run(self, params: dict[str, Any], context: dict[str, Any], scopes: Scopes) -> Outcome | None:
        """The upstream outcome of a call step, ``None`` for a step that calls nothing."""
        ...


StepCompiler = Callable[[m.OperationStep, m.Invocable, Upstreams], Step]


# --- call -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallStep:
    name: str
    operation: BoundOperation
    with_: tuple[WithEntry, ...]
    project: Callable[[Any], Any] | None
    redact: Redactor

    async def run(self, params: dict[str, Any], context: dict[str, Any], scopes: Scopes) -> Outcome | None:
        op = self.operation
        response = await op.call(apply_with(self.with_, params, scopes), scopes, stream=op.binary)
        if response.status >= 400:
            raise status_error(op.qualified, response, self.redact)
        if response.stream is not None:  # binary: read whole, under its size limit
            response.body = await response.stream.read(response.stream.limit(None))
        payload = decode(op, response, self.redact) if response.body.strip() else None
        if self.project is not None and payload is not None:
            payload = self.project(payload)
        context[self.name] = payload
        params[self.name] = payload
        return Outcome(response.status, data=payload)


def _call(step: m.OperationStep, invocable: m.Invocable, upstreams: Upstreams) -> Step:
    op = upstreams.operation(step.call or "")
    return CallStep(
        step.name,
        op,
        compile_with(step.with_, invocable.prefixes, invocable.optional_inputs),
        _projection(op.spec.output_parameters),
        upstreams.redact,
    )


def _projection(params: Sequence[m.ConsumedOutputParameter]) -> Callable[[Any], Any] | None:
    """Consumed outputParameters project a step's payload into ``{name: value}``."""
    if not params:
        return None
    compiled = [(p.name, compile_jsonpath(p.value)) for p in params]

    def one(item: Any) -> dict[str, Any]:
        out = {}
        for name, path in compiled:
            value = path.find(item)
            out[name] = None if value is MISSING else value
        return out

    def project(payload: Any) -> Any:
        if isinstance(payload, list):
            return [one(item) for item in payload]
        return one(payload)

    return project


# --- lookup ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookupStep:
    """Finds, in an earlier step's list (``index``), the entries whose ``match`` field equals the value."""

    name: str
    index: str
    match: str
    value_path: JsonPath | None
    value_template: Template | None
    fields: tuple[str, ...]

    async def run(self, params: dict[str, Any], context: dict[str, Any], scopes: Scopes) -> Outcome | None:
        context[self.name] = self.find(context, (*scopes, params))
        return None

    def find(self, context: Mapping[str, Any], scopes: Scopes) -> Any:
        table = context.get(self.index)
        if not isinstance(table, list):
            return None
        if self.value_path is not None:
            wanted = self.value_path.find(context)
        elif self.value_template is not None:
            wanted = self.value_template.render(scopes, what="lookupValue")
        else:
            return None
        if wanted is MISSING:
            return None

        def one(value: Any) -> Any:
            for entry in table:
                if isinstance(entry, Mapping) and str(entry.get(self.match)) == str(value):
                    return {f: entry.get(f) for f in self.fields}
            return None

        if isinstance(wanted, list):
            found = [r for r in (one(v) for v in wanted) if r is not None]
            return found or None
        return one(wanted)


def _lookup(step: m.OperationStep, invocable: m.Invocable, upstreams: Upstreams) -> Step:
    value = step.lookup_value or ""
    is_path = value.startswith("$")
    return LookupStep(
        step.name,
        index=step.index or "",
        match=step.match or "",
        value_path=compile_jsonpath(value) if is_path else None,
        value_template=compile_template(value) if not is_path else None,
        fields=step.output_parameters,
    )


# --- the table ------------------------------------------------------------------------------------------

#: step ``type`` -> how to compile it; ``None``: valid in the spec, not implemented by this runtime
STEPS: Mapping[str, StepCompiler | None] = {"call": _call, "lookup": _lookup, "script": compile_script}


def _unsupported(step: m.OperationStep) -> str:
    return f"{step.type} steps are not supported by this runtime"


def compile_steps(invocable: m.Invocable, upstreams: Upstreams) -> tuple[Step, ...]:
    compiled = []
    for step in invocable.steps:
        compiler = STEPS.get(step.type)
        if compiler is None:  # check_steps reports it at load; this is the backstop
            where = f"{upstreams.document.file}: {format_path(step.path)}"
            raise UnsupportedFeatureError(f"{where}: {_unsupported(step)} (the adapter is not served)")
        compiled.append(compiler(step, invocable, upstreams))
    return tuple(compiled)


def check_steps(result: LoadResult, *, severity: Severity = "error") -> list[Finding]:
    """A finding for every step whose type this runtime does not run, at the step's ``type``."""
    if result.document is None:
        return []
    document = result.document
    return [
        result.finding(severity, document.file, (*step.path, "type"), _unsupported(step))
        for invocable in document.invocables()
        for step in invocable.steps
        if STEPS.get(step.type) is None
    ]
