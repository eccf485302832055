"""Output schemas, derived once at build time from ``outputParameters``: the schema of what a REST
operation answers and an MCP tool's ``outputSchema`` (advertised only where every successful result can
honour it, as the SDK client checks ``structuredContent`` against it: an object whose shape the
``outputParameters`` fix).

A mapped value has its declared type or is null (the path found nothing); it is not coerced, so a value of
another type is reported as a result that does not fit the outputParameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...expressions import compile_jsonpath, compile_template
from ...spec import model as m
from .inputs import JSON_TYPES, Sources, plain


def result_outputs(sources: Sources, invocable: m.Invocable) -> tuple[m.OutputParameter, ...]:
    """The outputParameters that shape an invocable's result: its own, else its aggregate function's."""
    outputs = invocable.output_parameters
    if not outputs and invocable.ref is not None:
        fn = sources.document.aggregate_function(invocable.ref)
        outputs = fn.invocable.output_parameters if fn is not None else ()
    return tuple(outputs)


def result_schema(outputs: Sequence[m.OutputParameter], *, named: bool) -> dict[str, Any]:
    """The schema of whatever value the outputs make (``{}`` when none are declared): several named
    outputs (or mock / orchestrated ones, ``named``) build an object; otherwise the first output that
    yields a value is the result, or null when its mapping finds nothing."""
    if not outputs:
        return {}
    if named and all(p.name for p in outputs):
        return {"type": "object", "properties": {str(p.name): _property(p) for p in outputs}}
    if len(outputs) == 1:
        return _property(outputs[0])
    return {"anyOf": [_property(p) for p in outputs]}


def tool_output_schema(outputs: Sequence[m.OutputParameter], *, mock: bool) -> dict[str, Any] | None:
    """An MCP tool's ``outputSchema`` (a call or mock tool), or None when its result is not surely an
    object."""
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
        # built from its properties it is always there; mapped, it is null where the path finds nothing
        mapped = p.mapping is not None or (p.value is not None and p.value.startswith("$"))
        schema = _nullable(shape) if mapped or p.properties is None else shape
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


__all__ = ["result_outputs", "result_schema", "tool_output_schema"]
