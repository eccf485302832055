"""Cross-reference checks beyond the schema: call targets, namespaces, refs, placeholders, ports.

Also compiles every template and JSONPath once so a bad one is reported at load with its position.
Yields ``(severity, path, message, at_key)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from ..expressions import ExpressionError, compile_jsonpath, compile_path, compile_template, has_template
from . import model as m
from .credentials import check_credentials
from .files import check_files
from .findings import Path

Check = tuple[str, Path, str, bool]

_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9-]")
_PLACEHOLDER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_document(doc: m.NaftikoDocument) -> Iterator[Check]:
    cap = doc.capability
    yield from check_files(doc)
    yield from _check_consumers(doc.consumes)
    if cap is None:
        return
    yield from _check_consumers(cap.consumes)
    yield from check_credentials(doc)
    yield from _check_namespaces(cap)
    yield from _check_ports(cap)
    consumers = {c.namespace: c for c in cap.consumes}
    for agg in cap.aggregates:
        for fn in agg.functions:
            yield from _check_callable(
                doc,
                consumers,
                fn.invocable,
                declared={p.name for p in fn.input_parameters or ()},
                derived=fn.input_parameters is None,
            )
    for exposes in cap.exposes:
        check = _ADAPTER_CHECKS.get(type(exposes))
        if check is not None:
            yield from check(doc, consumers, exposes)


def _check_consumers(consumers: tuple[m.ConsumesHttp, ...]) -> Iterator[Check]:
    for c in consumers:
        name = m.template_name(c.base_uri)
        if name is not None:
            yield (
                "warning",
                (*c.path, "baseUri"),
                f"baseUri is wholly a template: {name} is read from the binds or the environment at "
                "start, and must be an http(s) URL then",
                False,
            )
        for param in c.input_parameters:
            yield from _template((*param.path, "value"), param.value)
        auth = c.authentication
        if auth is not None:
            for key in ("token", "username", "password", "key", "value"):
                text = getattr(auth, key, None)
                if isinstance(text, str):
                    yield from _template((*c.path, "authentication", key), text)
        seen_ops: dict[str, Path] = {}
        for resource in c.resources:
            for name in compile_path(resource.path_template).names:
                if not _PLACEHOLDER.match(name):
                    yield (
                        "error",
                        (*resource.path, "path"),
                        f"path placeholder '{name}' is not a parameter name",
                        False,
                    )
            for param in resource.input_parameters:
                yield from _template((*param.path, "value"), param.value)
            for op in resource.operations:
                if op.name in seen_ops:
                    yield (
                        "warning",
                        (*op.path, "name"),
                        f"operation '{op.name}' is declared twice in '{c.namespace}'; calls use the first",
                        False,
                    )
                seen_ops.setdefault(op.name, op.path)
                for param in op.input_parameters:
                    yield from _template((*param.path, "value"), param.value)
                for out in op.output_parameters:
                    yield from _jsonpath((*out.path, "value"), out.value)
                if op.body is not None:
                    yield from _body_templates(op.body.data, op.body.path)
                    if not op.body.typed:
                        message = (
                            "body without 'type': sent as JSON data (as if it read {type: json, data: ...})"
                        )
                        yield "warning", op.body.path, message, False


def _check_namespaces(cap: m.Capability) -> Iterator[Check]:
    seen: dict[str, str] = {}
    entries: list[tuple[str, str, Path]] = [(c.namespace, "consumes", c.path) for c in cap.consumes]
    entries += [(e.namespace, f"{e.type} adapter", e.path) for e in cap.exposes if e.namespace]
    entries += [(a.namespace, "aggregate", a.path) for a in cap.aggregates]
    for namespace, kind, path in entries:
        wrong = sorted({c for c in namespace if not _IDENTIFIER_CHAR.match(c)})
        if wrong:
            shown = ", ".join(repr(c) for c in wrong)
            noun = "is" if len(wrong) == 1 else "are"
            yield (
                "error",
                (*path, "namespace"),
                f"namespace '{namespace}' is not an identifier: {shown} {noun} not allowed "
                "(letters, digits and '-' only; calls read <namespace>.<name>)",
                False,
            )
        if namespace in seen:
            yield (
                "error",
                (*path, "namespace"),
                f"namespace '{namespace}' is already used by a {seen[namespace]}; namespaces must be unique",
                False,
            )
        else:
            seen[namespace] = kind


def _check_ports(cap: m.Capability) -> Iterator[Check]:
    used: dict[tuple[str, int], str] = {}
    for e in cap.exposes:
        port = e.port
        if not port:
            continue
        address = getattr(e, "address", None) or "*"
        key = (address, port)
        name = f"{e.type} adapter '{e.namespace}'"
        if key in used:
            yield ("error", (*e.path, "port"), f"port {port} is already used by the {used[key]}", False)
        else:
            used[key] = name


def _check_rest(
    doc: m.NaftikoDocument, consumers: Mapping[str, m.ConsumesHttp], rest: m.ExposesRest
) -> Iterator[Check]:
    routes: dict[tuple[str, str], Path] = {}
    for resource in rest.resources:
        route = compile_path(resource.path_template)
        normalised = "/".join("{}" if i % 2 else part for i, part in enumerate(route.parts))
        path_vars = set(route.names)
        if resource.forward is not None and resource.forward.target_namespace not in consumers:
            yield (
                "error",
                (*resource.forward.path, "targetNamespace"),
                f"forward target '{resource.forward.target_namespace}' is not a consumes namespace",
                False,
            )
        for op in resource.operations:
            key = (normalised, op.method)
            if key in routes:
                yield (
                    "error",
                    (*op.path, "method"),
                    f"{op.method} {resource.path_template} is already declared by another operation",
                    False,
                )
            routes[key] = op.path
            declared = {p.name for p in m.effective_inputs(resource.input_parameters, op.input_parameters)}
            for param in (*resource.input_parameters, *op.input_parameters):
                if param.in_ == "path" and param.name not in path_vars:
                    yield (
                        "error",
                        (*param.path, "name"),
                        f"path parameter '{param.name}' is not a placeholder of {resource.path_template}",
                        False,
                    )
                if param.value is not None and param.value.startswith("$"):
                    yield from _jsonpath((*param.path, "value"), param.value)
            yield from _check_callable(
                doc, consumers, op.invocable, declared=declared | path_vars, derived=False
            )


def _check_mcp(
    doc: m.NaftikoDocument, consumers: Mapping[str, m.ConsumesHttp], mcp: m.ExposesMcp
) -> Iterator[Check]:
    names: set[str] = set()
    for tool in mcp.tools:
        ref = tool.invocable.ref
        fn = doc.aggregate_function(ref) if ref and not tool.name else None
        name = fn.name if fn is not None else tool.name  # a ref tool without a name takes its function's
        if name in names:
            yield (
                "error",
                (*tool.path, "name" if tool.name else "ref"),
                f"tool '{name}' is declared twice",
                False,
            )
        names.add(name)
        declared = {p.name for p in tool.input_parameters or ()}
        yield from _check_callable(
            doc, consumers, tool.invocable, declared=declared, derived=tool.input_parameters is None
        )
        if tool.input_parameters:
            for key, value in tool.invocable.with_.items():
                if (
                    key in declared
                    and tool.invocable.reference(value) is None
                    and not _names(value, declared)
                ):
                    yield (
                        "warning",
                        (*tool.path, "with", key),
                        f"'with' sets '{key}' to a fixed value, overriding the tool argument of that name",
                        False,
                    )
    for resource in mcp.resources:
        yield from _check_callable(
            doc,
            consumers,
            resource.invocable,
            declared=set(compile_path(resource.uri).names),
            derived=False,
        )
    for prompt in mcp.prompts:
        for i, message in enumerate(prompt.template):
            yield from _template((*prompt.path, "template", i, "content"), message.content)


def _check_callable(
    doc: m.NaftikoDocument,
    consumers: Mapping[str, m.ConsumesHttp],
    invocable: m.Invocable,
    *,
    declared: set[str],
    derived: bool,
) -> Iterator[Check]:
    call, ref, with_, path = invocable.call, invocable.ref, invocable.with_, invocable.path
    for key, value in with_.items():
        if isinstance(value, str) and has_template(value):
            yield from _template((*path, "with", key), value)
    if ref is not None and doc.aggregate_function(ref) is None:
        yield ("error", (*path, "ref"), f"ref '{ref}' names no aggregate function", False)
    for out in invocable.output_parameters:
        yield from _output(out)
    for step in invocable.steps:
        if step.type == "call" and step.call is not None:
            yield from _call_target(consumers, step.call, (*step.path, "call"))
    if call is None:
        return
    target = yield from _call_target(consumers, call, (*path, "call"))
    if target is None:
        return
    consumer, resource, op = target
    placeholders = compile_path(resource.path_template).names
    fed_by_value = {
        p.name
        for p in m.effective_inputs(consumer.input_parameters, resource.input_parameters, op.input_parameters)
        if p.value is not None or p.in_ == "environment"
    }
    lowered = {d.lower() for d in declared}
    hint = invocable.prefixes[-1] if invocable.prefixes else ""  # the adapter's alias, else the namespace
    for name in placeholders:
        if name in with_ or name in fed_by_value or derived:
            continue
        if name in declared or name.lower() in lowered:
            continue
        yield (
            "error",
            (*path, "call"),
            f"'{call}' needs path parameter '{name}' ({resource.path_template}), and nothing feeds it: "
            f"add `with: {{{name}: {hint}<input>}}` or declare an input named '{name}'",
            False,
        )


_Target = tuple[m.ConsumesHttp, m.ConsumedHttpResource, m.ConsumedHttpOperation]


def _call_target(
    consumers: Mapping[str, m.ConsumesHttp], call: str, path: Path
) -> Generator[Check, None, _Target | None]:
    namespace, dot, operation = call.partition(".")
    if not dot or "." in operation:
        yield ("error", path, f"call '{call}' must be '<consumes namespace>.<operation name>'", False)
        return None
    consumer = consumers.get(namespace)
    if consumer is None:
        known = ", ".join(sorted(consumers)) or "none"
        yield (
            "error",
            path,
            f"call '{call}' names no consumes namespace '{namespace}' (declared: {known})",
            False,
        )
        return None
    found = consumer.find(operation)
    if found is None:
        ops = ", ".join(op.name for r in consumer.resources for op in r.operations) or "none"
        yield (
            "error",
            path,
            f"call '{call}': '{namespace}' has no operation '{operation}' (it has: {ops})",
            False,
        )
        return None
    return consumer, found[0], found[1]


def _names(value: m.WithValue, declared: AbstractSet[str]) -> bool:
    """``{{name}}`` alone, of a declared input: the argument itself, not a fixed value."""
    if not isinstance(value, str) or not has_template(value):
        return False
    try:
        return compile_template(value).single_name in declared
    except ExpressionError:
        return False


def _output(out: m.OutputParameter) -> Iterator[Check]:
    if out.mapping is not None:
        yield from _jsonpath((*out.path, "mapping"), out.mapping)
    if out.value is not None:
        if out.value.startswith("$"):
            yield from _jsonpath((*out.path, "value"), out.value)
        else:
            yield from _template((*out.path, "value"), out.value)
    for child in (out.properties or {}).values():
        yield from _output(child)
    if isinstance(out.items, m.OutputParameter):
        yield from _output(out.items)
    elif isinstance(out.items, tuple):
        for child in out.items:
            yield from _output(child)


def _template(path: Path, text: str | None) -> Iterator[Check]:
    if text is None:
        return
    try:
        compile_template(text)
    except ExpressionError as exc:
        yield ("error", path, str(exc), False)


def _jsonpath(path: Path, text: str | None) -> Iterator[Check]:
    if text is None:
        return
    try:
        compile_jsonpath(text)
    except ExpressionError as exc:
        yield ("error", path, str(exc), False)


def _body_templates(data: Any, path: Path) -> Iterator[Check]:
    if isinstance(data, str):
        yield from _template(path, data)
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _body_templates(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _body_templates(value, (*path, i))


#: the checks of each kind of exposed adapter, by its spec object's type
_ADAPTER_CHECKS: dict[
    type, Callable[[m.NaftikoDocument, Mapping[str, m.ConsumesHttp], Any], Iterator[Check]]
] = {
    m.ExposesRest: _check_rest,
    m.ExposesMcp: _check_mcp,
}
