"""The OpenAPI 3.1 description of one REST adapter, derived from the capability once at start-up.

Paths use ``{x}`` placeholders. Parameters and the request body come from the declared ``inputParameters``,
completed by the derivation the MCP exposer shares (:mod:`..schema`): an input the called function or
operation requires is required, its ``enum`` and ``items`` carry over. An operation that declares none
documents its path variables, and a JSON body for POST, PUT and PATCH. The success schema comes from the
``outputParameters`` (a mapped value may be null); every operation documents the problems it can answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...expressions import compile_path
from ...problem import PROBLEM_JSON, PROBLEM_SCHEMA
from ...spec import model as m
from ..schema import ExposedInput, Sources, exposed_inputs, invocable_props, result_outputs, result_schema

OPENAPI_VERSION = "3.1.0"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_REQUEST_IN = frozenset({"path", "query", "header", "cookie"})

#: status -> (description, whether only operations that call an upstream answer it)
_PROBLEMS: Mapping[str, tuple[str, bool]] = {
    "400": ("Invalid input: a parameter is missing or malformed, or the body is not JSON.", False),
    "4XX": (
        "The upstream refused the caller's request: its status (404, 409, 422, 429, ...), with "
        "upstreamStatus and the upstream's own body (upstreamBody).",
        True,
    ),
    "500": ("The server failed or is misconfigured (never the caller's fault).", False),
    "502": (
        "The upstream failed: a 5xx, a refused credential (upstreamStatus 401/403), unreachable, or "
        "a payload that does not fit the outputs.",
        True,
    ),
    "503": ("A limit of this server is reached, or the upstream's circuit is open (see Retry-After).", True),
    "504": ("The upstream did not answer in time.", True),
}


def _openapi_path(template: str) -> str:
    parts = compile_path(template.split("?", 1)[0]).parts
    return "".join(p if i % 2 == 0 else "{" + p + "}" for i, p in enumerate(parts))


def _describe(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    if description:
        schema["description"] = description
    return schema


def reads_request(p: m.ExposedInputParameter) -> bool:
    """Whether the request carries the value (not a fixed ``value``, not the environment)."""
    return p.in_ != "environment" and (p.value is None or p.value.startswith("$"))


def body_field(p: m.ExposedInputParameter) -> str | None:
    """The body member a body parameter reads: its name, or the one its ``$.member`` value names; None
    when it reads the whole body (``$``) or somewhere deeper."""
    if p.value is None:
        return p.name
    rest = p.value[2:] if p.value.startswith("$.") else None
    return rest if rest and rest.replace("_", "").replace("-", "").isalnum() else None


def request_body(body: Sequence[ExposedInput]) -> dict[str, Any] | None:
    """The JSON body the body parameters read: the one parameter's own value when it takes the whole
    body, else an object of the members they read."""
    if not body:
        return None
    if len(body) == 1 and (body[0][0].value is None or body[0][0].value == "$"):
        p, schema, required = body[0]
        return {"required": required, "content": {"application/json": {"schema": dict(schema)}}}
    properties: dict[str, Any] = {}
    required_names: list[str] = []
    for p, schema, required in body:
        name = body_field(p) or p.name
        properties[name] = schema
        if required:
            required_names.append(name)
    shape: dict[str, Any] = {"type": "object", "properties": properties}
    if required_names:
        shape["required"] = required_names
    return {"required": bool(required_names), "content": {"application/json": {"schema": shape}}}


#: a parameter of an operation without declared inputs: name, where the request carries it, schema, required
ImplicitParameter = tuple[str, str, dict[str, Any], bool]


def implicit_parameters(
    sources: Sources, resource: m.ExposedResource, op: m.ExposedOperation
) -> list[ImplicitParameter]:
    """What an operation without declared inputs must be given, derived from what it calls (as an MCP
    tool's schema is): the JSON body as its ``body`` input, the called operation's headers as request
    headers, anything else as a query parameter; path variables are the route's own."""
    path_names = {name.lower() for name in compile_path(resource.path_template).names}
    headers = _called_headers(sources.document, op.invocable)
    out: list[ImplicitParameter] = []
    for name, (schema, required) in invocable_props(sources, op.invocable).items():
        if name.lower() in path_names:
            continue
        where = "body" if name == "body" else ("header" if name in headers else "query")
        out.append((name, where, schema, required))
    return out


def _called_headers(document: m.NaftikoDocument, invocable: m.Invocable) -> set[str]:
    """The header parameters the one consumed operation a plain ``call`` invokes takes from its caller."""
    if invocable.call is None or invocable.steps or invocable.ref is not None:
        return set()
    namespace, _, name = invocable.call.partition(".")
    consumer = document.consumer(namespace)
    found = consumer.find(name) if consumer is not None else None
    if consumer is None or found is None:
        return set()
    params = m.effective_inputs(
        consumer.input_parameters, found[0].input_parameters, found[1].input_parameters
    )
    return {p.name for p in params if p.in_ == "header" and p.value is None}


def _operation(
    sources: Sources, resource: m.ExposedResource, op: m.ExposedOperation, operation_id: str
) -> dict[str, Any]:
    declared = m.effective_inputs(resource.input_parameters, op.input_parameters)
    inputs = [i for i in exposed_inputs(sources, declared, op.invocable) if reads_request(i[0])]
    parameters: list[dict[str, Any]] = []
    listed: set[str] = set()
    for p, schema, required in inputs:
        if p.in_ in _REQUEST_IN:
            plain = {k: v for k, v in schema.items() if k != "description"}
            entry = {"name": p.name, "in": p.in_, "required": required, "schema": plain}
            parameters.append(_describe(entry, schema.get("description")))
            if p.in_ == "path":
                listed.add(p.name)
    implicit = [] if declared else implicit_parameters(sources, resource, op)
    for name, where, schema, required in implicit:
        if where != "body":
            plain = {k: v for k, v in schema.items() if k != "description"}
            entry = {"name": name, "in": where, "required": required, "schema": plain}
            parameters.append(_describe(entry, schema.get("description")))
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

    body = request_body([i for i in inputs if i[0].in_ == "body"])
    if body is not None:
        out["requestBody"] = body
    elif not declared and op.method in ("POST", "PUT", "PATCH"):
        derived = next(((s, r) for _, where, s, r in implicit if where == "body"), None)
        schema, required = derived or ({}, False)
        shape = {**schema, "description": schema.get("description", "the operation's 'body' input")}
        out["requestBody"] = {"required": required, "content": {"application/json": {"schema": shape}}}

    invocable = op.invocable
    outputs = result_outputs(sources, invocable)
    calls_upstream = invocable.calls_upstream
    named = not calls_upstream or bool(invocable.steps) or len(outputs) > 1
    success: dict[str, Any] = {"description": "Success"}
    schema = result_schema(outputs, named=named)
    if schema or calls_upstream:
        success["content"] = {"application/json": {"schema": schema}}
        if calls_upstream and not outputs:
            success["content"]["*/*"] = {"schema": {}}  # the upstream's body as it comes
    responses: dict[str, Any] = {"200": success}
    if calls_upstream:
        responses["2XX"] = {**success, "description": "Success, with the upstream's own status"}
    for status, (description, upstream_only) in _PROBLEMS.items():
        if calls_upstream or not upstream_only:
            content = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
            responses[status] = {"description": description, "content": content}
    if op.responses:  # the declared ones, over the defaults (a declared success replaces the default's)
        contracts = {c.status: _contract(c) for c in op.responses}
        if any(status.startswith("2") for status in contracts):
            responses.pop("200")
            responses.pop("2XX", None)
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
    adapter: m.ExposesRest,
    document: m.NaftikoDocument,
    *,
    host: str,
    port: int,
    bind_scopes: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``adapter``, listening on ``host:port`` (``bind_scopes``: the binds,
    which fill some of what the called operations take)."""
    sources = Sources(document, bind_scopes)
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
            item[op.method.lower()] = _operation(sources, resource, op, operation_id)
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


__all__ = [
    "OPENAPI_VERSION",
    "body_field",
    "build_openapi",
    "implicit_parameters",
    "reads_request",
    "request_body",
]
