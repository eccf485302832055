"""What ``tools/list`` says about a tool, derived once at build time: its descriptor and hints. The
input and output schemas come from the derivation both exposers share (:mod:`..schema`)."""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from ...shaping import mock_outputs
from ...spec import model as m
from ..schema import Sources, declared_input_schema, derived_input_schema, schema_props, tool_output_schema

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
        out = tool_output_schema(own.output_parameters, mock=mock)
    elif fn is not None and not fn.invocable.steps:
        out = tool_output_schema(fn.invocable.output_parameters, mock=fn.invocable.call is None)

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


__all__ = ["tool_descriptor"]
