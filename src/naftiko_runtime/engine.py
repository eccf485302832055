"""The runtime core shared by every exposer: consumers, and one compiled :class:`Invocation` per exposed
operation, tool, resource or aggregate function.

An invocation turns the caller's inputs into the consumed operation's arguments through ``with``:

- ``<own namespace>.<name>`` — and the aliases ``rest.<name>`` (REST) and ``tools.<name>`` (MCP) —
  reference an input, by exact name, else case-insensitively;
- a string with ``{{...}}`` is a template over the inputs and the binds;
- anything else is a literal.

Inputs flow to the consumed operation by name as well, so a file that names its inputs after the
upstream parameters needs no ``with`` at all. Then it calls (or answers from its mock outputs, or runs
its steps) and shapes the result with the exposed ``outputParameters``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .binds import Bindings, Redactor
from .consumes.http import BoundOperation, HttpConsumer, Timeouts, UpstreamResponse
from .errors import (
    MappingError,
    RequestError,
    UnsupportedFeatureError,
    UpstreamPayloadError,
    UpstreamStatusError,
)
from .expressions import MISSING, JsonPath, Template, compile_jsonpath, compile_template, has_template
from .formats import DECODERS, PayloadError
from .shaping import OutputShaper, compile_mock, compile_outputs, mock_outputs
from .spec import model as m
from .spec.findings import format_path

Scopes = Sequence[Mapping[str, Any]]


@dataclass(slots=True)
class Outcome:
    """What an invocation produced: a status and JSON ``data``, or ``raw`` bytes passed through as is."""

    status: int
    data: Any = None
    raw: bytes | None = None
    content_type: str | None = None
    empty: bool = False
    #: ``raw`` is the upstream's JSON, passed through unparsed (the outputs would return it unchanged)
    raw_json: bool = False

    def value(self) -> Any:
        """The JSON value, parsing a passed-through body when needed (``None`` for empty or non-JSON)."""
        if self.raw is not None:
            return json.loads(self.raw) if self.raw_json else None
        return self.data


# --- with ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WithEntry:
    key: str
    ref: str | None = None
    template: Template | None = None
    literal: Any = None


def compile_with(table: Mapping[str, m.WithValue], prefixes: Sequence[str]) -> tuple[WithEntry, ...]:
    entries = []
    for key, value in table.items():
        if isinstance(value, str):
            ref = next(
                (value[len(p) :] for p in prefixes if value.startswith(p) and len(value) > len(p)), None
            )
            if ref is not None:
                entries.append(WithEntry(key, ref=ref))
            elif has_template(value):
                entries.append(WithEntry(key, template=compile_template(value)))
            else:
                entries.append(WithEntry(key, literal=value))
        else:
            entries.append(WithEntry(key, literal=value))
    return tuple(entries)


def find_input(inputs: Mapping[str, Any], name: str) -> Any:
    """An input by exact name, else the one whose name matches case-insensitively."""
    if name in inputs:
        return inputs[name]
    lowered = name.lower()
    for key, value in inputs.items():
        if key.lower() == lowered:
            return value
    return MISSING


def apply_with(entries: Sequence[WithEntry], inputs: Mapping[str, Any], scopes: Scopes) -> dict[str, Any]:
    args = dict(inputs)
    if not entries:
        return args
    template_scopes = (*scopes, inputs)
    for entry in entries:
        if entry.ref is not None:
            value = find_input(inputs, entry.ref)
            if value is MISSING:
                args.pop(entry.key, None)
                continue
            args[entry.key] = value
        elif entry.template is not None:
            args[entry.key] = entry.template.value(template_scopes, what=f"'with' value '{entry.key}'")
        else:
            args[entry.key] = entry.literal
    return args


# --- invocations ---------------------------------------------------------------------------------------


@dataclass
class Invocation:
    """A compiled exposed operation: ``await run(inputs)`` returns an :class:`Outcome` or raises."""

    runtime: Runtime
    name: str
    with_: tuple[WithEntry, ...] = ()
    operation: BoundOperation | None = None
    shaper: OutputShaper = field(default_factory=lambda: compile_outputs(()))
    mock: OutputShaper | None = None
    delegate: Invocation | None = None
    steps: tuple[_Step, ...] = ()
    mappings: tuple[tuple[tuple[str, ...], JsonPath], ...] = ()

    async def run(self, inputs: Mapping[str, Any]) -> Outcome:
        scopes = self.runtime.bind_scopes
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
        response = await self.operation.call(args, scopes)
        return self._finish(response, args, scopes)

    def _finish(self, response: UpstreamResponse, args: Mapping[str, Any], scopes: Scopes) -> Outcome:
        op = self.operation
        assert op is not None
        status = response.status
        if status >= 400:
            raise self.runtime.status_error(op, response)
        body = response.body
        if not body.strip():
            return Outcome(status, data=None, empty=True)
        identity = self.shaper.identity
        if identity is not None and op.spec.output_raw_format == "json":
            if _looks_json(response.content_type, body):
                head = body.lstrip()[:1]
                if identity == "any" or head == (b"{" if identity == "object" else b"["):
                    return Outcome(status, raw=body, content_type="application/json", raw_json=True)
            elif identity == "any" and self.shaper.passthrough:
                return Outcome(status, raw=body, content_type=response.content_type or None)
        payload = self.runtime.decode(op, response)
        return Outcome(status, data=self.shaper.apply(payload, (*scopes, args), op.qualified))

    async def _run_steps(self, params: dict[str, Any], scopes: Scopes) -> Outcome:
        context: dict[str, Any] = {}
        last: Outcome | None = None
        for step in self.steps:
            if step.operation is not None:
                args = apply_with(step.with_, params, scopes)
                response = await step.operation.call(args, scopes)
                if response.status >= 400:
                    raise self.runtime.status_error(step.operation, response)
                payload = self.runtime.decode(step.operation, response) if response.body.strip() else None
                if step.project is not None and payload is not None:
                    payload = step.project(payload)
                context[step.name] = payload
                params[step.name] = payload
                last = Outcome(response.status, data=payload)
            elif step.lookup is not None:
                context[step.name] = step.lookup.run(context, (*scopes, params))
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


@dataclass
class _Lookup:
    index: str
    match: str
    value_path: JsonPath | None
    value_template: Template | None
    fields: tuple[str, ...]

    def run(self, context: Mapping[str, Any], scopes: Scopes) -> Any:
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


@dataclass
class _Step:
    name: str
    operation: BoundOperation | None = None
    with_: tuple[WithEntry, ...] = ()
    project: Any = None
    lookup: _Lookup | None = None


def _looks_json(content_type: str, body: bytes) -> bool:
    if "json" in content_type.lower():
        return True
    head = body.lstrip()[:1]
    return head in (b"{", b"[") and not content_type.lower().startswith(("text/html", "application/xml"))


# --- runtime -------------------------------------------------------------------------------------------


class Runtime:
    """Owns the consumers of one capability (their pools start and close with it) and compiles invocations."""

    def __init__(
        self,
        document: m.NaftikoDocument,
        bindings: Bindings | None = None,
        *,
        upstreams: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.document = document
        self.bindings = bindings or Bindings()
        self.bind_scopes: Scopes = self.bindings.scopes
        self.redact = redactor or Redactor()
        self.redact.update(self.bindings.values())
        overrides = dict(upstreams or {})
        capability = document.capability
        consumes = capability.consumes if capability else ()
        unknown = sorted(set(overrides) - {c.namespace for c in consumes})
        if unknown:
            raise ValueError(
                f"no consumes namespace {', '.join(repr(u) for u in unknown)} to point elsewhere"
            )
        self.consumers: dict[str, HttpConsumer] = {
            c.namespace: HttpConsumer(
                c, self.bindings, base_uri=overrides.get(c.namespace), timeouts=timeouts, redactor=self.redact
            )
            for c in consumes
        }
        self._functions: dict[str, Invocation] = {}

    async def start(self) -> None:
        for consumer in self.consumers.values():
            await consumer.start()

    async def close(self) -> None:
        for consumer in self.consumers.values():
            await consumer.close()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- compile ---

    def operation(self, call: str) -> BoundOperation:
        namespace, _, name = call.partition(".")
        return self.consumers[namespace].operations[name]

    def invocation(
        self,
        name: str,
        *,
        call: str | None,
        with_: Mapping[str, m.WithValue],
        outputs: Sequence[m.OutputParameter],
        prefixes: Sequence[str],
        ref: str | None = None,
        steps: Sequence[m.OperationStep] = (),
        mappings: Sequence[m.StepOutputMapping] = (),
    ) -> Invocation:
        inv = Invocation(self, name, with_=compile_with(with_, prefixes))
        if ref is not None:
            inv.delegate = self.function(ref)
            inv.shaper = compile_outputs(outputs)
            return inv
        if steps:
            inv.steps = tuple(self._step(s, prefixes) for s in steps)
            inv.mappings = tuple(
                (tuple(mp.target_name.split(".")), compile_jsonpath(mp.value)) for mp in mappings
            )
            inv.shaper = compile_outputs([o for o in outputs if o.mapping is not None])
            return inv
        if call is not None:
            inv.operation = self.operation(call)
            inv.shaper = compile_outputs(outputs)
        elif outputs and mock_outputs(outputs):
            inv.mock = compile_mock(outputs)
        return inv

    def function(self, ref: str) -> Invocation:
        if ref not in self._functions:
            fn = self.document.aggregate_function(ref)
            if fn is None:
                raise KeyError(ref)
            namespace = ref.split(".", 1)[0]
            self._functions[ref] = self.invocation(
                ref,
                call=fn.call,
                with_=fn.with_,
                outputs=fn.output_parameters,
                prefixes=(namespace + ".",),
                steps=fn.steps,
                mappings=fn.mappings,
            )
        return self._functions[ref]

    def _step(self, step: m.OperationStep, prefixes: Sequence[str]) -> _Step:
        if step.type == "call" and step.call:
            op = self.operation(step.call)
            return _Step(
                step.name,
                operation=op,
                with_=compile_with(step.with_, prefixes),
                project=_projection(op.spec.output_parameters),
            )
        if step.type == "lookup":
            value = step.lookup_value or ""
            return _Step(
                step.name,
                lookup=_Lookup(
                    index=step.index or "",
                    match=step.match or "",
                    value_path=compile_jsonpath(value) if value.startswith("$") else None,
                    value_template=compile_template(value) if not value.startswith("$") else None,
                    fields=step.output_parameters,
                ),
            )
        raise UnsupportedFeatureError(
            f"{self.document.file}: {format_path(step.path)}: {step.type} steps are not supported "
            "by this runtime (the adapter is not served)"
        )

    # --- errors and decoding ---

    def status_error(self, op: BoundOperation, response: UpstreamResponse) -> UpstreamStatusError:
        body: Any = None
        if response.body.strip() and _looks_json(response.content_type, response.body):
            try:
                body = json.loads(response.body)
            except ValueError:
                body = None
        excerpt = response.text_excerpt(self.redact)
        if body is not None:
            body = json.loads(self.redact(json.dumps(body)))
        detail = f"{op.qualified} returned HTTP {response.status}"
        if response.reason:
            detail += f" {response.reason}"
        if excerpt:
            detail += f": {excerpt}"
        return UpstreamStatusError(
            detail, operation=op.qualified, upstream_status=response.status, body=body, excerpt=excerpt
        )

    def decode(self, op: BoundOperation, response: UpstreamResponse) -> Any:
        fmt = op.spec.output_raw_format or "json"
        decoder = DECODERS.get(fmt)
        if decoder is None:
            raise UpstreamPayloadError(
                f"{op.qualified}: outputRawFormat '{fmt}' is not supported by this runtime",
                operation=op.qualified,
            )
        try:
            return decoder(response.body, response.content_type, op.decode_options)
        except PayloadError as exc:
            detail = f"{op.qualified} answered HTTP {response.status} with {exc}"
            if exc.excerpt:
                detail += f": {response.text_excerpt(self.redact, 120)}"
            raise UpstreamPayloadError(detail, operation=op.qualified) from None


def _projection(params: Sequence[m.ConsumedOutputParameter]) -> Any:
    """Consumed outputParameters project a step's payload into ``{name: value}``."""
    if not params:
        return None
    compiled = [(p.name, compile_jsonpath(p.value)) for p in params]

    def project(payload: Any) -> Any:
        def one(item: Any) -> dict[str, Any]:
            out = {}
            for name, path in compiled:
                value = path.find(item)
                out[name] = None if value is MISSING else value
            return out

        if isinstance(payload, list):
            return [one(item) for item in payload]
        return one(payload)

    return project


__all__ = ["Invocation", "Outcome", "RequestError", "Runtime", "MappingError", "Timeouts"]
