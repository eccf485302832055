"""The typed, immutable model of a capability document, named after the spec's own objects.

Only the builder creates these; everything else in the runtime reads them. Every object keeps the JSON
path it was read from, so later stages (cross-reference checks, compilation) can report findings at the
right place. Fields the schema does not define but real files use (``type``/``required`` on consumed
parameters, ``items``/``enum`` on tool parameters) are kept: they shape input schemas and validation.
"""

from __future__ import annotations

from .base import (
    AuthApiKey,
    AuthBasic,
    AuthBearer,
    AuthDigest,
    Authentication,
    AuthOAuth2,
    Binding,
    HttpMethod,
    Info,
    ParamIn,
    WithValue,
)
from .capability import (
    Aggregate,
    AggregateFunction,
    Capability,
    NaftikoDocument,
    Semantics,
)
from .consumes import (
    ConsumedHttpOperation,
    ConsumedHttpResource,
    ConsumedInputParameter,
    ConsumedOutputParameter,
    ConsumesHttp,
    ImportedConsumesHttp,
    RequestBody,
)
from .exposes import (
    ExposedInputParameter,
    ExposedOperation,
    ExposedResource,
    Exposes,
    ExposesMcp,
    ExposesOther,
    ExposesRest,
    ForwardConfig,
    McpPrompt,
    McpPromptArgument,
    McpPromptMessage,
    McpResource,
    McpTool,
    McpToolHints,
    McpToolInputParameter,
)
from .invocable import (
    WITH_ALIASES,
    Invocable,
    Invoking,
    OperationStep,
    OutputParameter,
    StepOutputMapping,
    effective_inputs,
    with_prefixes,
    with_reference,
)

__all__ = [
    "Aggregate",
    "AggregateFunction",
    "AuthApiKey",
    "AuthBasic",
    "AuthBearer",
    "AuthDigest",
    "AuthOAuth2",
    "Authentication",
    "Binding",
    "Capability",
    "ConsumedHttpOperation",
    "ConsumedHttpResource",
    "ConsumedInputParameter",
    "ConsumedOutputParameter",
    "ConsumesHttp",
    "ExposedInputParameter",
    "ExposedOperation",
    "ExposedResource",
    "Exposes",
    "ExposesMcp",
    "ExposesOther",
    "ExposesRest",
    "ForwardConfig",
    "HttpMethod",
    "ImportedConsumesHttp",
    "Info",
    "Invocable",
    "Invoking",
    "McpPrompt",
    "McpPromptArgument",
    "McpPromptMessage",
    "McpResource",
    "McpTool",
    "McpToolHints",
    "McpToolInputParameter",
    "NaftikoDocument",
    "OperationStep",
    "OutputParameter",
    "ParamIn",
    "RequestBody",
    "Semantics",
    "StepOutputMapping",
    "WITH_ALIASES",
    "WithValue",
    "effective_inputs",
    "with_prefixes",
    "with_reference",
]
