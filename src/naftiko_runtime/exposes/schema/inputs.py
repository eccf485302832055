"""Input schemas, derived once at build time from the capability's declarations: an MCP tool's
``inputSchema``, and what a REST operation's parameters and body take (its OpenAPI description and the
checks its requests go through).

A tool's ``inputParameters`` give a closed schema. Without them, the schema is derived from where the
arguments go: each ``with`` reference (``tools.<name>`` or ``<namespace>.<name>``) becomes a property
typed and described by the consumed parameter it feeds, and the consumed operation's path placeholders
and required parameters that ``with`` leaves unfed become properties of their own name (arguments flow
to the consumed operation by name). Everything is read from the spec model: the consumed operations as
declared, not as compiled. A REST operation's declared parameters take from the same derivation what
they leave unsaid: an input an aggregate function or consumed operation requires is required, and its
``enum``, ``items`` and description carry over.

Every part of such a schema is built from typed model fields, so it is valid by construction, except a
declared parameter's ``items``: the capability writes that JSON Schema itself, and it alone is checked
against the metaschema (which is why jsonschema is loaded at start-up only by a capability that has one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError
from ...expressions import MISSING, compile_path, lookup
from ...spec import model as m

JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})

#: name -> (property schema, required)
Props = dict[str, tuple[dict[str, Any], bool]]


@dataclass(frozen=True, slots=True)
class Sources:
    """What a derivation reads: the document (its consumed operations) and the binds (which fill some)."""

    document: m.NaftikoDocument
    bind_scopes: Sequence[Mapping[str, Any]] = ()


def declared_input_schema(params: Sequence[m.McpToolInputParameter]) -> dict[str, Any]:
    """The schema of explicitly declared inputs: closed (``additionalProperties: false``)."""
    properties: dict[str, Any] = {}
    for p in params:
        prop: dict[str, Any] = {"type": p.type} if p.type in JSON_TYPES else {}
        if p.description:
            prop["description"] = p.description
        if p.items is not None:
            prop["items"] = _items_schema(p.name, plain(p.items))
        if p.enum is not None:
            prop["enum"] = plain(list(p.enum))
        if p.default is not None:
            prop["default"] = plain(p.default)
        properties[p.name] = prop
    return _object(properties, [p.name for p in params if p.required], closed=True)


def _items_schema(name: str, items: Any) -> Any:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema({"items": items})
    except SchemaError as exc:
        raise ConfigError(
            f"MCP input parameter '{name}': its items is not a valid JSON Schema ({exc.message})"
        ) from None
    return items


def derived_input_schema(
    sources: Sources, invocable: m.Invocable, *, inner: Props | None = None
) -> dict[str, Any]:
    """The schema of a tool without ``inputParameters``: open, since any argument still flows by name.

    ``inner`` is what the callee takes when it is not a consumed operation (an aggregate function).
    """
    with_, prefixes = invocable.with_, invocable.prefixes
    if inner is not None:
        props = _layer(with_, prefixes, inner, keep_optional=True)
    elif invocable.steps:
        steps = _steps_inputs(sources, invocable.steps, prefixes, set(with_))
        props = _layer(with_, prefixes, steps, keep_optional=True)
    elif invocable.call is not None:
        props = _layer(with_, prefixes, _operation_inputs(sources, invocable.call), keep_optional=False)
    else:
        props = _layer(with_, prefixes, {}, keep_optional=True)
    return _object(
        {n: s for n, (s, _) in props.items()}, [n for n, (_, r) in props.items() if r], closed=False
    )


def invocable_props(sources: Sources, invocable: m.Invocable) -> Props:
    """What an invocable takes, by the names its caller passes: an aggregate function's declared (or
    derived) inputs, or those of the consumed operation or steps it calls, seen through its ``with``."""
    if invocable.ref is None:
        return schema_props(derived_input_schema(sources, invocable))
    fn = sources.document.aggregate_function(invocable.ref)
    if fn is None:
        return {}  # reported at load: the ref names no aggregate function
    if fn.input_parameters is not None:
        inner = schema_props(declared_input_schema(fn.input_parameters))
    else:
        inner = invocable_props(sources, fn.invocable)
    return _layer(invocable.with_, invocable.prefixes, inner, keep_optional=True)


#: a REST parameter with its derived schema and required-ness
ExposedInput = tuple[m.ExposedInputParameter, dict[str, Any], bool]


def exposed_inputs(
    sources: Sources, params: Sequence[m.ExposedInputParameter], invocable: m.Invocable
) -> list[ExposedInput]:
    """A REST operation's declared parameters, each completed by what its invocable says of it."""
    callee = invocable_props(sources, invocable) if params else {}
    return [(p, *exposed_property(p, callee.get(p.name))) for p in params]


def exposed_property(
    p: m.ExposedInputParameter, callee: tuple[dict[str, Any], bool] | None
) -> tuple[dict[str, Any], bool]:
    """A REST parameter's schema and required-ness: as declared, completed by what its callee says of
    the input of that name (``required`` when the parameter does not say; ``enum``, ``items`` and the
    description when it has none)."""
    schema: dict[str, Any] = {"type": p.type} if p.type in JSON_TYPES else {}
    inherited, callee_required = callee if callee is not None else ({}, False)
    same_type = inherited.get("type", p.type) == p.type
    for key in ("enum", "items"):
        if key in inherited and same_type:
            schema[key] = inherited[key]
    if p.type == "array" and "items" not in schema:
        schema["items"] = {}
    if p.pattern:
        schema["pattern"] = p.pattern
    description = p.description or inherited.get("description")
    if description:
        schema["description"] = description
    if p.in_ == "path":
        required = True
    elif p.required is not None:
        required = p.required
    else:
        required = callee_required
    if required and p.type == "string" and p.in_ != "path":
        schema["minLength"] = 1  # an empty value is no value (a path has no empty segment to match)
    return schema, required


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


def _operation_inputs(sources: Sources, call: str) -> Props:
    """Every consumed parameter an argument can fill (no fixed ``value``), and the path placeholders."""
    namespace, _, name = call.partition(".")
    consumer = sources.document.consumer(namespace)
    found = consumer.find(name) if consumer is not None else None
    if consumer is None or found is None:
        return {}  # reported at load: the call names no consumed operation
    resource, op = found
    declared = m.effective_inputs(consumer.input_parameters, resource.input_parameters, op.input_parameters)
    names = {p.name for p in declared}
    placeholders = compile_path(resource.path_template.partition("?")[0]).names
    props: Props = {}
    for p in declared:
        if p.value is not None or p.in_ == "environment":
            continue
        is_path = p.in_ == "path" or p.name in placeholders
        prop: dict[str, Any] = {}
        kind = p.type if p.type in JSON_TYPES else ("string" if is_path else None)
        if kind is not None:
            prop["type"] = kind
        if p.description:
            prop["description"] = p.description
        props[p.name] = (prop, bool(p.required) or is_path)
    for key in placeholders:
        if key in props or key in names or "." in key:
            continue
        if lookup(sources.bind_scopes, key) is not MISSING:
            continue  # a bind fills it
        props[key] = ({"type": "string"}, True)
    return props


def _steps_inputs(
    sources: Sources, steps: Sequence[m.OperationStep], prefixes: Sequence[str], provided: set[str]
) -> Props:
    props: Props = {}
    produced = set(provided)
    for step in steps:
        if step.type == "call" and step.call:
            inner = _operation_inputs(sources, step.call)
            for name, (schema, required) in _layer(step.with_, prefixes, inner, keep_optional=False).items():
                if name in produced:
                    continue
                if name in props:
                    required = required or props[name][1]
                    schema = props[name][0]
                props[name] = (schema, required)
        produced.add(step.name)
    return props


def plain(value: Any) -> Any:
    """YAML-built mappings and tuples as plain JSON values."""
    return json.loads(json.dumps(value, default=list))
