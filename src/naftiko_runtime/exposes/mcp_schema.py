"""JSON Schemas for MCP tools, derived once at build time from a capability's declarations.

Input schemas come from the tool's ``inputParameters`` when it declares them. Otherwise they are derived
from where the arguments go: each ``with`` reference (``tools.<name>`` or ``<namespace>.<name>``) becomes
a property typed and described by the consumed parameter it feeds, and the consumed operation's path
placeholders and required parameters that ``with`` leaves unfed become properties of their own name
(arguments flow to the consumed operation by name).

Output schemas are advertised only where every successful result can honour them (the SDK client checks
``structuredContent`` against ``outputSchema``): an object whose shape the ``outputParameters`` fix.
Mapped leaf values are not typed, because the shaper passes them through as the upstream sent them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import mcp_types as types
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from ..consumes.http import BoundOperation
from ..engine import Runtime
from ..errors import ConfigError
from ..expressions import MISSING, compile_jsonpath, compile_template, lookup
from ..shaping import mock_outputs
from ..spec import model as m

JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})

#: name -> (property schema, required)
Props = dict[str, tuple[dict[str, Any], bool]]


# --- tools ----------------------------------------------------------------------------------------------


def tool_descriptor(runtime: Runtime, tool: m.McpTool) -> types.Tool:
    """What ``tools/list`` says about a tool. A ``ref`` tool inherits its aggregate function's name,
    description, inputs (when it declares none) and hints derived from the function's semantics."""
    own = tool.invocable
    fn = runtime.document.aggregate_function(own.ref) if own.ref else None
    if own.ref and fn is None:
        raise ConfigError(f"MCP tool ref '{own.ref}' names no aggregate function")
    if tool.input_parameters is not None:
        schema = declared_input_schema(tool.input_parameters)
    elif fn is not None:
        if fn.input_parameters is not None:
            inner = declared_input_schema(fn.input_parameters)
        else:
            inner = derived_input_schema(runtime, fn.invocable)
        if own.with_:
            inner = derived_input_schema(runtime, own, inner=schema_props(inner))
        schema = inner
    else:
        schema = derived_input_schema(runtime, own)

    out: dict[str, Any] | None = None
    if own.output_parameters and not own.steps:
        mock = own.call is None and own.ref is None and mock_outputs(own.output_parameters)
        out = output_schema(own.output_parameters, mock=mock)
    elif fn is not None and not fn.invocable.steps:
        out = output_schema(fn.invocable.output_parameters, mock=fn.invocable.call is None)

    return types.Tool(
        name=tool.name or (fn.name if fn else ""),
        title=tool.label,
        description=tool.description or (fn.description if fn else None),
        input_schema=schema,
        output_schema=out,
        annotations=_annotations(_semantic_hints(tool, fn) if fn else tool.hints),
    )


def _annotations(hints: m.McpToolHints | None) -> types.ToolAnnotations | None:
    if hints is None:
        return None
    annotations = types.ToolAnnotations(
        read_only_hint=hints.read_only,
        destructive_hint=hints.destructive,
        idempotent_hint=hints.idempotent,
        open_world_hint=hints.open_world,
    )
    return annotations if annotations != types.ToolAnnotations() else None


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


# --- inputs ---------------------------------------------------------------------------------------------


def declared_input_schema(params: Sequence[m.McpToolInputParameter]) -> dict[str, Any]:
    """The schema of explicitly declared inputs: closed (``additionalProperties: false``)."""
    properties: dict[str, Any] = {}
    for p in params:
        prop: dict[str, Any] = {"type": p.type} if p.type in JSON_TYPES else {}
        if p.description:
            prop["description"] = p.description
        if p.items is not None:
            prop["items"] = _plain(p.items)
        if p.enum is not None:
            prop["enum"] = _plain(list(p.enum))
        if p.default is not None:
            prop["default"] = _plain(p.default)
        properties[p.name] = prop
    return _object(properties, [p.name for p in params if p.required], closed=True)


def derived_input_schema(
    runtime: Runtime, invocable: m.Invocable, *, inner: Props | None = None
) -> dict[str, Any]:
    """The schema of a tool without ``inputParameters``: open, since any argument still flows by name.

    ``inner`` is what the callee takes when it is not a consumed operation (an aggregate function).
    """
    with_, prefixes = invocable.with_, invocable.prefixes
    if inner is not None:
        props = _layer(with_, prefixes, inner, keep_optional=True)
    elif invocable.steps:
        props = _layer(
            with_, prefixes, _steps_inputs(runtime, invocable.steps, prefixes, set(with_)), keep_optional=True
        )
    elif invocable.call is not None:
        props = _layer(
            with_,
            prefixes,
            _operation_inputs(runtime, runtime.operation(invocable.call)),
            keep_optional=False,
        )
    else:
        props = _layer(with_, prefixes, {}, keep_optional=True)
    return _object(
        {n: s for n, (s, _) in props.items()}, [n for n, (_, r) in props.items() if r], closed=False
    )


def schema_props(schema: Mapping[str, Any]) -> Props:
    """An object schema back as :data:`Props` (to layer a tool's ``with`` over an aggregate function)."""
    required = set(schema.get("required", ()))
    return {name: (dict(s), name in required) for name, s in schema.get("properties", {}).items()}


def _object(properties: dict[str, Any], required: Iterable[str], *, closed: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    names = list(dict.fromkeys(required))
    if names:
        schema["required"] = names
    if closed:
        schema["additionalProperties"] = False
    return schema


def _layer(
    with_: Mapping[str, m.WithValue], prefixes: Sequence[str], inner: Props, *, keep_optional: bool
) -> Props:
    """What a caller passes when ``with_`` sits in front of a callee that takes ``inner``."""
    out: Props = {}
    for key, value in with_.items():
        ref = m.with_reference(value, prefixes)
        if ref is None:
            continue
        schema, required = inner.get(key, ({}, False))
        if ref in out:
            schema, was_required = out[ref]
            required = required or was_required
        out[ref] = (schema, required)
    for name, (schema, required) in inner.items():
        if name not in with_ and name not in out and (required or keep_optional):
            out[name] = (schema, required)
    return out


def _operation_inputs(runtime: Runtime, op: BoundOperation) -> Props:
    """Every consumed parameter an argument can fill (no fixed ``value``), and the path placeholders."""
    declared = m.effective_inputs(
        op.consumer.spec.input_parameters, op.resource.input_parameters, op.spec.input_parameters
    )
    names = {p.name for p in declared}
    props: Props = {}
    placeholders = set(op.path.names)
    for p in declared:
        name = p.name
        if p.value is not None or p.in_ == "environment":
            continue
        is_path = p.in_ == "path" or name in placeholders
        prop: dict[str, Any] = {}
        kind = p.type if p.type in JSON_TYPES else ("string" if is_path else None)
        if kind is not None:
            prop["type"] = kind
        if p.description:
            prop["description"] = p.description
        props[name] = (prop, bool(p.required) or is_path)
    for name in op.path.names:
        if name in props or name in names or "." in name:
            continue
        if lookup(runtime.bind_scopes, name) is not MISSING:
            continue  # a bind fills it
        props[name] = ({"type": "string"}, True)
    return props


def _steps_inputs(
    runtime: Runtime, steps: Sequence[m.OperationStep], prefixes: Sequence[str], provided: set[str]
) -> Props:
    props: Props = {}
    produced = set(provided)
    for step in steps:
        if step.type == "call" and step.call:
            inner = _operation_inputs(runtime, runtime.operation(step.call))
            for name, (schema, required) in _layer(step.with_, prefixes, inner, keep_optional=False).items():
                if name in produced:
                    continue
                if name in props:
                    required = required or props[name][1]
                    schema = props[name][0]
                props[name] = (schema, required)
        produced.add(step.name)
    return props


def _plain(value: Any) -> Any:
    """YAML-built mappings and tuples as plain JSON values."""
    return json.loads(json.dumps(value, default=list))


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
        schema["const"] = _plain(p.const)
    elif p.value is not None and not p.value.startswith("$"):
        # a static value renders as text, coerced only when it parses as the declared scalar; a lone
        # ``{{name}}`` keeps the input's own type, so only other strings are surely strings
        if p.type == "string" and compile_template(p.value).single_name is None:
            schema["type"] = "string"
    elif p.type == "object" and p.properties is not None:
        schema["type"] = ["object", "null"]
        schema["properties"] = {n: _property(c) for n, c in p.properties.items()}
    elif p.type == "array":
        schema["type"] = "array"
        if isinstance(p.items, m.OutputParameter):
            schema["items"] = _property(p.items)
        elif isinstance(p.items, tuple) and p.items:
            schema["items"] = {
                "type": ["object", "null"],
                "properties": {c.name or f"field{i}": _property(c) for i, c in enumerate(p.items)},
            }
    if p.description:
        schema["description"] = p.description
    return schema


# --- validation -----------------------------------------------------------------------------------------


def compile_validator(schema: Mapping[str, Any], what: str) -> Draft202012Validator:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(f"{what}: not a valid JSON Schema ({exc.message})") from None
    return Draft202012Validator(schema)


def schema_problem(validator: Draft202012Validator, instance: Any, noun: str = "argument") -> str | None:
    """The most relevant violation of ``instance``, naming the ``noun`` and the rule; None when valid."""
    errors = list(validator.iter_errors(instance))
    if not errors:
        return None
    best = best_match(errors)
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
    "Props",
    "compile_validator",
    "declared_input_schema",
    "derived_input_schema",
    "output_schema",
    "schema_problem",
    "schema_props",
    "tool_descriptor",
]
