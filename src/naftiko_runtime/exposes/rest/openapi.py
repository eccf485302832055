"""The OpenAPI 3.1 description of one REST adapter, derived from the capability once at start-up.

Paths use ``{x}`` placeholders; parameters come from the declared ``inputParameters`` (an operation that
declares none documents its path variables, and a JSON body for POST, PUT and PATCH); response schemas come
from ``outputParameters``; every operation documents the problem responses it can give.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...expressions import compile_path
from ...problem import PROBLEM_JSON, PROBLEM_SCHEMA
from ...spec import model as m

OPENAPI_VERSION = "3.1.0"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_SCALARS = ("string", "number", "integer", "boolean")

_PROBLEMS = {
    "400": "Invalid input: a parameter is missing, malformed, or the body is not JSON.",
    "502": "The upstream failed (5xx, unreachable, or a payload that does not fit the outputs).",
    "504": "The upstream did not answer in time.",
}


def _openapi_path(template: str) -> str:
    parts = compile_path(template.split("?", 1)[0]).parts
    return "".join(p if i % 2 == 0 else "{" + p + "}" for i, p in enumerate(parts))


def _describe(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    if description:
        schema["description"] = description
    return schema


def _input_schema(p: m.ExposedInputParameter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.type}
    if p.type == "array":
        schema["items"] = {}
    if p.pattern:
        schema["pattern"] = p.pattern
    return schema


def output_schema(param: m.OutputParameter) -> dict[str, Any]:
    """The JSON Schema of what one output parameter produces."""
    kind = param.type
    schema: dict[str, Any] = {"type": kind} if kind in (*_SCALARS, "object", "array") else {}
    if kind == "object" and param.properties:
        schema["properties"] = {name: output_schema(child) for name, child in param.properties.items()}
    elif kind == "array" and isinstance(param.items, m.OutputParameter):
        schema["items"] = output_schema(param.items)
    elif kind == "array" and isinstance(param.items, tuple) and param.items:
        schema["items"] = {
            "type": "object",
            "properties": {p.name or f"field{i}": output_schema(p) for i, p in enumerate(param.items)},
        }
    if param.has_const:
        schema["const"] = param.const
    return _describe(schema, param.description)


def outputs_schema(params: Sequence[m.OutputParameter], *, named: bool) -> dict[str, Any]:
    """Several named outputs (or mock / orchestrated ones) build an object; otherwise the first one that
    yields a value is the result."""
    if not params:
        return {}
    if named and all(p.name for p in params):
        return {"type": "object", "properties": {str(p.name): output_schema(p) for p in params}}
    if len(params) == 1:
        return output_schema(params[0])
    return {"anyOf": [output_schema(p) for p in params]}


def _operation(
    document: m.NaftikoDocument, resource: m.ExposedResource, op: m.ExposedOperation, operation_id: str
) -> dict[str, Any]:
    declared = m.effective_inputs(resource.input_parameters, op.input_parameters)
    parameters: list[dict[str, Any]] = []
    listed: set[str] = set()
    for p in declared:
        if p.in_ in ("path", "query", "header", "cookie"):
            parameters.append(
                _describe(
                    {
                        "name": p.name,
                        "in": p.in_,
                        "required": p.in_ == "path" or p.required is True,
                        "schema": _input_schema(p),
                    },
                    p.description,
                )
            )
            if p.in_ == "path":
                listed.add(p.name)
    for name in compile_path(resource.path_template).names:
        if name not in listed:
            parameters.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})

    out: dict[str, Any] = {"operationId": operation_id}
    if op.label:
        out["summary"] = op.label
    if op.description or resource.description:
        out["description"] = op.description or resource.description
    tags = list(dict.fromkeys([*([resource.name] if resource.name else []), *resource.tags, *op.tags]))
    if tags:
        out["tags"] = tags
    if parameters:
        out["parameters"] = parameters

    body = [p for p in declared if p.in_ == "body"]
    if body:
        if len(body) == 1 and body[0].value is None:
            only = body[0]
            schema = _describe(_input_schema(only), only.description)
        else:
            schema = {
                "type": "object",
                "properties": {p.name: _describe(_input_schema(p), p.description) for p in body},
            }
            required = [p.name for p in body if p.required is True]
            if required:
                schema["required"] = required
        out["requestBody"] = {
            "required": any(p.required is True for p in body),
            "content": {"application/json": {"schema": schema}},
        }
    elif not declared and op.method in ("POST", "PUT", "PATCH"):
        out["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {"schema": {"description": "passed to the operation as its 'body' input"}}
            },
        }

    invocable = op.invocable
    outputs = invocable.output_parameters
    if not outputs and invocable.ref is not None:
        fn = document.aggregate_function(invocable.ref)
        outputs = fn.invocable.output_parameters if fn is not None else ()
    calls_upstream = invocable.calls_upstream
    named = not calls_upstream or bool(invocable.steps) or len(outputs) > 1
    success: dict[str, Any] = {"description": "Success"}
    schema = outputs_schema(outputs, named=named)
    if schema or calls_upstream:
        success["content"] = {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {"200": success}
    for status, description in _PROBLEMS.items():
        if status == "400" or calls_upstream:
            responses[status] = {
                "description": description,
                "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
            }
    if calls_upstream:
        responses["4XX"] = {
            "description": "The upstream refused the caller's request: its status, with upstreamStatus and "
            "the upstream's own body (upstreamBody).",
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        }
    if op.responses:  # the declared ones, over the defaults (a declared success replaces the default's)
        contracts = {c.status: _contract(c) for c in op.responses}
        if any(status.startswith("2") for status in contracts):
            responses.pop("200")
        responses = dict(sorted({**responses, **contracts}.items()))
    out["responses"] = responses
    return out


def _contract(contract: m.ResponseContract) -> dict[str, Any]:
    """A declared response: binary content is a binary string, other content has its declared schema."""
    content = {
        c.media_type: {"schema": {"type": "string", "format": "binary"} if c.binary else dict(c.schema or {})}
        for c in contract.content
    }
    out: dict[str, Any] = {"description": contract.description or f"HTTP {contract.status}"}
    if content:
        out["content"] = content
    return out


def build_openapi(
    adapter: m.ExposesRest, document: m.NaftikoDocument, *, host: str, port: int
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``adapter``, listening on ``host:port``."""
    info = document.info or m.Info()
    description = "\n\n".join(d for d in (info.description, adapter.description) if d)
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for resource in adapter.resources:
        item = paths.setdefault(_openapi_path(resource.path_template), {})
        if resource.description and "description" not in item:
            item["description"] = resource.description
        for op in resource.operations:
            base = op.name or f"{op.method.lower()}-{resource.name or _openapi_path(resource.path_template)}"
            operation_id, n = base, 2
            while operation_id in used:
                operation_id, n = f"{base}-{n}", n + 1
            used.add(operation_id)
            item[op.method.lower()] = _operation(document, resource, op, operation_id)
        if resource.forward is not None:
            item["x-naftiko-forward"] = resource.forward.target_namespace
    shown = f"[{host}]" if ":" in host else host
    return {
        "openapi": OPENAPI_VERSION,
        "info": _describe(
            {"title": info.label or adapter.namespace, "version": info.version or info.modified or "1.0.0"},
            description or None,
        ),
        "servers": [{"url": "/", "description": f"adapter '{adapter.namespace}' on {shown}:{port}"}],
        "paths": paths,
        "components": {"schemas": {"Problem": PROBLEM_SCHEMA}},
    }


__all__ = ["OPENAPI_VERSION", "build_openapi", "output_schema", "outputs_schema"]
