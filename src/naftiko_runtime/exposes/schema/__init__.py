"""The schemas both exposers derive from a capability, written once: input schemas (an MCP tool's
``inputSchema``, a REST operation's parameters and body), output schemas (a REST response, an MCP tool's
``outputSchema``) and the compiled checks of values against them."""

from .check import (
    Check,
    Validator,
    Violation,
    compile_check,
    format_where,
    schema_problem,
    violation,
)
from .inputs import (
    JSON_TYPES,
    ExposedInput,
    Props,
    Sources,
    declared_input_schema,
    derived_input_schema,
    exposed_inputs,
    exposed_property,
    invocable_props,
    plain,
    schema_props,
)
from .outputs import result_outputs, result_schema, tool_output_schema

__all__ = [
    "JSON_TYPES",
    "Check",
    "Props",
    "Sources",
    "Validator",
    "Violation",
    "compile_check",
    "declared_input_schema",
    "derived_input_schema",
    "ExposedInput",
    "exposed_inputs",
    "exposed_property",
    "format_where",
    "invocable_props",
    "plain",
    "result_outputs",
    "result_schema",
    "schema_problem",
    "schema_props",
    "tool_output_schema",
    "violation",
]
