"""The typed, immutable model of a capability document, named after the spec's own objects.

Only ``build.py`` creates these; everything else in the runtime reads them. Every object keeps the JSON
path it was read from, so later stages (cross-reference checks, compilation) can report findings at the
right place. Fields the schema does not define but real files use (``type``/``required`` on consumed
parameters, ``items``/``enum`` on tool parameters) are kept: they shape input schemas and validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .findings import Path

ParamIn = Literal["query", "header", "path", "cookie", "body", "environment"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
WithValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Info:
    label: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    created: str | None = None
    modified: str | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    namespace: str
    keys: Mapping[str, str]
    location: str | None = None
    description: str | None = None
    path: Path = ()


# --- authentication -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthBasic:
    username: str = ""
    password: str = ""
    type: Literal["basic"] = "basic"


@dataclass(frozen=True, slots=True)
class AuthDigest:
    username: str = ""
    password: str = ""
    type: Literal["digest"] = "digest"


@dataclass(frozen=True, slots=True)
class AuthBearer:
    token: str = ""
    type: Literal["bearer"] = "bearer"


@dataclass(frozen=True, slots=True)
class AuthApiKey:
    key: str = ""
    value: str = ""
    placement: Literal["header", "query"] = "header"
    type: Literal["apikey"] = "apikey"


@dataclass(frozen=True, slots=True)
class AuthOAuth2:
    """Inbound: the adapter is a protected resource. Outbound: client credentials for the consumed API.

    ``client_id``/``client_secret`` extend alpha2: the outbound grant needs them, and so does introspection.
    """

    authorization_server_uri: str = ""
    resource: str = ""
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    token_endpoint: str | None = None
    token_validation: Literal["jwks", "introspection"] = "jwks"
    client_id: str | None = None
    client_secret: str | None = None
    type: Literal["oauth2"] = "oauth2"


Authentication = AuthBasic | AuthDigest | AuthBearer | AuthApiKey | AuthOAuth2


# --- consumes -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsumedInputParameter:
    name: str
    in_: ParamIn
    value: str | None = None
    type: str | None = None
    required: bool | None = None
    description: str | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ConsumedOutputParameter:
    name: str
    type: str
    value: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class RequestBody:
    """``kind`` is ``raw`` for a plain template string, else the body ``type`` of the spec."""

    kind: str
    data: Any
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ConsumedHttpOperation:
    name: str
    method: HttpMethod = "GET"
    label: str | None = None
    description: str | None = None
    input_parameters: tuple[ConsumedInputParameter, ...] = ()
    output_raw_format: str = "json"
    output_schema: str | None = None
    output_parameters: tuple[ConsumedOutputParameter, ...] = ()
    body: RequestBody | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ConsumedHttpResource:
    name: str
    path_template: str
    label: str | None = None
    description: str | None = None
    input_parameters: tuple[ConsumedInputParameter, ...] = ()
    operations: tuple[ConsumedHttpOperation, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ConsumesHttp:
    namespace: str
    base_uri: str
    description: str | None = None
    input_parameters: tuple[ConsumedInputParameter, ...] = ()
    authentication: Authentication | None = None
    resources: tuple[ConsumedHttpResource, ...] = ()
    path: Path = ()
    #: the file this adapter came from (an imported shared consumer file, or the capability itself)
    source: str | None = None

    def find(self, operation: str) -> tuple[ConsumedHttpResource, ConsumedHttpOperation] | None:
        """The first operation of that name across the resources (the spec's lookup rule)."""
        for resource in self.resources:
            for op in resource.operations:
                if op.name == operation:
                    return resource, op
        return None


@dataclass(frozen=True, slots=True)
class ImportedConsumesHttp:
    location: str
    import_: str
    as_: str | None = None
    description: str | None = None
    path: Path = ()


# --- outputs --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutputParameter:
    """A mapped, orchestrated or mock output parameter (the three families share this shape)."""

    type: str
    name: str | None = None
    mapping: str | None = None
    value: str | None = None
    const: Any = None
    has_const: bool = False
    description: str | None = None
    properties: Mapping[str, OutputParameter] | None = None
    items: OutputParameter | tuple[OutputParameter, ...] | None = None
    path: Path = ()


# --- steps ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperationStep:
    type: Literal["call", "lookup", "script"]
    name: str
    call: str | None = None
    with_: Mapping[str, WithValue] = field(default_factory=dict)
    index: str | None = None
    match: str | None = None
    lookup_value: str | None = None
    output_parameters: tuple[str, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class StepOutputMapping:
    target_name: str
    value: str
    path: Path = ()


# --- exposes: REST --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposedInputParameter:
    name: str
    in_: ParamIn
    type: str = "string"
    description: str | None = None
    pattern: str | None = None
    value: str | None = None
    required: bool | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ExposedOperation:
    method: HttpMethod
    name: str | None = None
    label: str | None = None
    description: str | None = None
    input_parameters: tuple[ExposedInputParameter, ...] = ()
    call: str | None = None
    ref: str | None = None
    with_: Mapping[str, WithValue] = field(default_factory=dict)
    output_parameters: tuple[OutputParameter, ...] = ()
    steps: tuple[OperationStep, ...] = ()
    mappings: tuple[StepOutputMapping, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    target_namespace: str
    trusted_headers: tuple[str, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ExposedResource:
    path_template: str
    name: str | None = None
    label: str | None = None
    description: str | None = None
    input_parameters: tuple[ExposedInputParameter, ...] = ()
    operations: tuple[ExposedOperation, ...] = ()
    forward: ForwardConfig | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ExposesRest:
    namespace: str
    port: int
    address: str | None = None
    description: str | None = None
    authentication: Authentication | None = None
    resources: tuple[ExposedResource, ...] = ()
    path: Path = ()
    type: Literal["rest"] = "rest"


# --- exposes: MCP ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class McpToolHints:
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None


@dataclass(frozen=True, slots=True)
class McpToolInputParameter:
    name: str
    type: str
    description: str | None = None
    required: bool = True
    items: Mapping[str, Any] | None = None
    enum: tuple[Any, ...] | None = None
    default: Any = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class McpTool:
    name: str
    description: str | None = None
    label: str | None = None
    input_parameters: tuple[McpToolInputParameter, ...] | None = None
    call: str | None = None
    ref: str | None = None
    with_: Mapping[str, WithValue] = field(default_factory=dict)
    hints: McpToolHints | None = None
    output_parameters: tuple[OutputParameter, ...] = ()
    steps: tuple[OperationStep, ...] = ()
    mappings: tuple[StepOutputMapping, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class McpResource:
    name: str
    uri: str
    label: str | None = None
    description: str | None = None
    mime_type: str | None = None
    call: str | None = None
    with_: Mapping[str, WithValue] = field(default_factory=dict)
    output_parameters: tuple[OutputParameter, ...] = ()
    steps: tuple[OperationStep, ...] = ()
    mappings: tuple[StepOutputMapping, ...] = ()
    location: str | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class McpPromptArgument:
    name: str
    description: str | None = None
    label: str | None = None
    required: bool = True


@dataclass(frozen=True, slots=True)
class McpPromptMessage:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class McpPrompt:
    name: str
    label: str | None = None
    description: str | None = None
    arguments: tuple[McpPromptArgument, ...] = ()
    template: tuple[McpPromptMessage, ...] = ()
    location: str | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ExposesMcp:
    namespace: str
    port: int | None
    transport: Literal["http", "stdio"] = "http"
    address: str | None = None
    description: str | None = None
    authentication: Authentication | None = None
    tools: tuple[McpTool, ...] = ()
    resources: tuple[McpResource, ...] = ()
    prompts: tuple[McpPrompt, ...] = ()
    path: Path = ()
    type: Literal["mcp"] = "mcp"


@dataclass(frozen=True, slots=True)
class ExposesOther:
    """A ``skill`` or ``control`` adapter: valid alpha2 that this runtime validates but does not serve."""

    type: str
    namespace: str | None
    port: int | None
    raw: Mapping[str, Any] = field(default_factory=dict)
    path: Path = ()


Exposes = ExposesRest | ExposesMcp | ExposesOther


# --- aggregates -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Semantics:
    safe: bool | None = None
    idempotent: bool | None = None
    cacheable: bool | None = None


@dataclass(frozen=True, slots=True)
class AggregateFunction:
    name: str
    description: str | None = None
    semantics: Semantics | None = None
    input_parameters: tuple[McpToolInputParameter, ...] | None = None
    call: str | None = None
    with_: Mapping[str, WithValue] = field(default_factory=dict)
    output_parameters: tuple[OutputParameter, ...] = ()
    steps: tuple[OperationStep, ...] = ()
    mappings: tuple[StepOutputMapping, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Aggregate:
    namespace: str
    label: str | None = None
    functions: tuple[AggregateFunction, ...] = ()
    path: Path = ()


# --- roots ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capability:
    consumes: tuple[ConsumesHttp, ...] = ()
    exposes: tuple[Exposes, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    binds: tuple[Binding, ...] = ()
    imports: tuple[ImportedConsumesHttp, ...] = ()


@dataclass(frozen=True, slots=True)
class NaftikoDocument:
    naftiko: str
    file: str
    info: Info | None = None
    binds: tuple[Binding, ...] = ()
    capability: Capability | None = None
    #: root-level ``consumes``: a shared consumer file that capabilities import
    consumes: tuple[ConsumesHttp, ...] = ()

    @property
    def all_binds(self) -> tuple[Binding, ...]:
        return self.binds + (self.capability.binds if self.capability else ())

    def consumer(self, namespace: str) -> ConsumesHttp | None:
        if self.capability is None:
            return None
        for c in self.capability.consumes:
            if c.namespace == namespace:
                return c
        return None

    def aggregate_function(self, ref: str) -> AggregateFunction | None:
        if self.capability is None or "." not in ref:
            return None
        ns, fn = ref.split(".", 1)
        for agg in self.capability.aggregates:
            if agg.namespace == ns:
                for f in agg.functions:
                    if f.name == fn:
                        return f
        return None
