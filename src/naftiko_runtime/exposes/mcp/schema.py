"""What ``tools/list`` says about a tool, derived once at build time: its descriptor and hints, its
output schema, and the validators of both schemas (input schemas: :mod:`.inputs`).

Output schemas are advertised only where every successful result can honour them (the SDK client checks
``structuredContent`` against ``outputSchema``): an object whose shape the ``outputParameters`` fix.
A mapped value has its declared type or is null (the path found nothing); it is not coerced, so a value
of another type is reported as a result that does not fit the outputParameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import fastjsonschema

from ...errors import ConfigError
from ...expressions import compile_jsonpath, compile_template
from ...shaping import mock_outputs
from ...spec import model as m
from .inputs import JSON_TYPES, Sources, declared_input_schema, derived_input_schema, plain, schema_props

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

# --- tools ----------------------------------------------------------------------------------------------


def tool_descriptor(sources: Sources, tool: m.McpTool) -> dict[str, Any]:
    """What ``tools/list`` says about a tool. A ``ref`` tool inherits its aggregate function's name,
    description, inputs (when it declares none) and hints derived from the function's semantics."""
    own = tool.invocable
    fn = sources.document.aggregate_function(own.ref) if own.ref else None
    if own.ref and fn is None:
        raise ConfigError(f"MCP tool ref '{own.ref}' names no aggregate function")
    if tool.input_parameters is not None:
        schema = declared_input_schema(tool.input_parameters)
    elif fn is not None:
        if fn.input_parameters is not None:
            inner = declared_input_schema(fn.input_parameters)
        else:
            inner = derived_input_schema(sources, fn.invocable)
        if own.with_:
            inner = derived_input_schema(sources, own, inner=schema_props(inner))
        schema = inner
    else:
        schema = derived_input_schema(sources, own)

    out: dict[str, Any] | None = None
    if own.output_parameters and not own.steps:
        mock = own.call is None and own.ref is None and mock_outputs(own.output_parameters)
        out = output_schema(own.output_parameters, mock=mock)
    elif fn is not None and not fn.invocable.steps:
        out = output_schema(fn.invocable.output_parameters, mock=fn.invocable.call is None)

    descriptor = {
        "name": tool.name or (fn.name if fn else ""),
        "title": tool.label,
        "description": tool.description or (fn.description if fn else None),
        "inputSchema": schema,
        "outputSchema": out,
        "annotations": _annotations(_semantic_hints(tool, fn) if fn else tool.hints),
        "_meta": {"tags": list(tool.tags)} if tool.tags else None,
    }
    return {key: value for key, value in descriptor.items() if value is not None}


def _annotations(hints: m.McpToolHints | None) -> dict[str, bool] | None:
    if hints is None:
        return None
    annotations = {
        "readOnlyHint": hints.read_only,
        "destructiveHint": hints.destructive,
        "idempotentHint": hints.idempotent,
        "openWorldHint": hints.open_world,
    }
    return {key: value for key, value in annotations.items() if value is not None} or None


def _semantic_hints(tool: m.McpTool, fn: m.AggregateFunction) -> m.McpToolHints | None:
    """An aggregate function's semantics as hints, overridden field by field by the tool's own."""
    own = tool.hints or m.McpToolHints()
    sem = fn.semantics or m.Semantics()
    derived = m.McpToolHints(
        read_only=sem.safe,
        destructive=False if sem.safe else None,
        idempotent=sem.idempotent,
    )
    merged = m.McpToolHints(
        read_only=own.read_only if own.read_only is not None else derived.read_only,
        destructive=own.destructive if own.destructive is not None else derived.destructive,
        idempotent=own.idempotent if own.idempotent is not None else derived.idempotent,
        open_world=own.open_world,
    )
    return merged if merged != m.McpToolHints() else None


# --- outputs --------------------------------------------------------------------------------------------


def output_schema(outputs: Sequence[m.OutputParameter], *, mock: bool) -> dict[str, Any] | None:
    """The ``outputSchema`` of a call or mock tool, or None when its result is not surely an object."""
    if not outputs:
        return None
    if all(p.name for p in outputs) and (mock or len(outputs) > 1):
        return {"type": "object", "properties": {p.name: _property(p) for p in outputs if p.name}}
    if len(outputs) != 1:
        return None
    top = outputs[0]
    if top.type != "object" or top.has_const or not _definite(top):
        return None
    if top.value is not None and not top.value.startswith("$"):
        return None
    if top.properties is None:
        return {"type": "object"}
    return {"type": "object", "properties": {n: _property(c) for n, c in top.properties.items()}}


def _definite(p: m.OutputParameter) -> bool:
    mapping = (
        p.mapping if p.mapping is not None else (p.value if p.value and p.value.startswith("$") else None)
    )
    return mapping is None or compile_jsonpath(mapping).definite


def _property(p: m.OutputParameter) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if p.has_const:
        schema["const"] = plain(p.const)
    elif p.value is not None and not p.value.startswith("$"):
        # a static value renders as text, coerced only when it parses as the declared scalar; a lone
        # ``{{name}}`` keeps the input's own type, so only other strings are surely strings
        if p.type == "string" and compile_template(p.value).single_name is None:
            schema["type"] = "string"
    elif p.type == "object":
        shape: dict[str, Any] = {"type": "object"}
        if p.properties is not None:
            shape["properties"] = {n: _property(c) for n, c in p.properties.items()}
        schema = _nullable(shape)
    elif p.type == "array":
        schema["type"] = "array"
        if isinstance(p.items, m.OutputParameter):
            schema["items"] = _property(p.items)
        elif isinstance(p.items, tuple) and p.items:
            properties = {c.name or f"field{i}": _property(c) for i, c in enumerate(p.items)}
            schema["items"] = _nullable({"type": "object", "properties": properties})
    elif p.type in JSON_TYPES:
        # a mapped value: the declared type as the upstream sent it, or null when the path finds nothing
        schema = _nullable({"type": p.type})
    if p.description:
        schema["description"] = p.description
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null, as ``anyOf`` branches of one type each (portable to single-type dialects)."""
    return {"anyOf": [schema, {"type": "null"}]}


# --- validation -----------------------------------------------------------------------------------------


class Validator:
    """A schema's jsonschema validator, built the first time something fails its compiled check (the
    walk that words the problem): a server whose calls are all valid never loads jsonschema."""

    __slots__ = ("_validator", "schema")

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self._validator: Draft202012Validator | None = None

    @property
    def validator(self) -> Draft202012Validator:
        if self._validator is None:
            from jsonschema import Draft202012Validator

            self._validator = Draft202012Validator(self.schema)
        return self._validator

    def is_valid(self, instance: Any) -> bool:
        return bool(self.validator.is_valid(instance))


#: a compiled yes/no check of an instance against a schema
Check = Callable[[Any], bool]


def compile_check(schema: Mapping[str, Any]) -> Check:
    """The schema compiled to Python code once (fastjsonschema), for the question every call asks: is
    this valid? Its verdict "invalid" is confirmed by the jsonschema validator, which also words the
    problem, so a rejection never depends on where the two implementations differ (e.g. ``1.0`` as an
    integer)."""
    return _compiled_check(_canonical(schema))


# Tools of one adapter often share a schema (every tool taking one ``runId``, every output an object):
# each distinct schema is compiled once, keyed by its canonical text.


def _canonical(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


@cache
def _compiled_check(text: str) -> Check:
    schema = json.loads(text)
    if _NEWER_KEYWORDS & _keywords(schema):
        return Validator(schema).is_valid  # draft-07 code would ignore them
    try:
        validate = fastjsonschema.compile(schema, use_default=False, use_formats=False)
    except (fastjsonschema.JsonSchemaDefinitionException, ValueError, TypeError):
        # a construct it does not compile (e.g. a 2020-12-only keyword in declared items): interpret
        return Validator(schema).is_valid

    def check(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


#: 2019-09/2020-12 keywords a draft-07 compiler would silently ignore
_NEWER_KEYWORDS = frozenset(
    {"prefixItems", "$defs", "$dynamicRef", "$anchor", "dependentRequired", "dependentSchemas"}
    | {"unevaluatedProperties", "unevaluatedItems", "minContains", "maxContains", "$schema"}
)


def _keywords(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keywords(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keywords(v) for v in node))
    return set()


def schema_problem(validator: Validator, instance: Any, noun: str = "argument") -> str | None:
    """The most relevant violation of ``instance``, naming the ``noun`` and the rule; None when valid."""
    from jsonschema.exceptions import best_match

    errors = list(validator.validator.iter_errors(instance))
    if not errors:
        return None
    best = best_match(errors)
    if best.validator == "anyOf" and best.context:
        # "X or null" (a nullable output): say what X wants rather than "not valid under any schema"
        concrete = [e for e in best.context if e.schema != {"type": "null"}]
        best = best_match(concrete) if concrete else best
    text = _clip(best.message, 200)
    if best.absolute_path:
        where = ""
        for part in best.absolute_path:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        text = f"{noun} '{where}': {text}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "Check",
    "Validator",
    "compile_check",
    "output_schema",
    "schema_problem",
    "tool_descriptor",
]
