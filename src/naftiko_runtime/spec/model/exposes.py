"""Exposed adapters: REST (resources, operations, forwards), MCP (tools, resources, prompts), control."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..findings import Path
from .base import Authentication, HttpMethod, ParamIn
from .invocable import Invocable, Invoking

# --- REST -----------------------------------------------------------------------------------------------


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
class ResponseContent:
    media_type: str
    binary: bool = False
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ResponseContract:
    """One entry of an operation's ``responses`` (``responseBinary`` is read as one of these)."""

    status: str  # "200", "4XX"
    description: str | None = None
    content: tuple[ResponseContent, ...] = ()


@dataclass(frozen=True, slots=True)
class ExposedOperation(Invoking):
    method: HttpMethod
    name: str | None = None
    label: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    input_parameters: tuple[ExposedInputParameter, ...] = ()
    invocable: Invocable = field(default_factory=Invocable)
    path: Path = ()
    #: the declared responses (Ikanos beta1+): the OpenAPI description, and a binary body's media type
    responses: tuple[ResponseContract, ...] = ()

    @property
    def binary_media_type(self) -> str | None:
        """The first media type the responses declare binary."""
        return next((c.media_type for r in self.responses for c in r.content if c.binary), None)


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
    tags: tuple[str, ...] = ()
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
    #: the size limit of binary bodies (bytes), below an operation's own
    max_binary_size: int | None = None


# --- MCP ------------------------------------------------------------------------------------------------


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
class McpTool(Invoking):
    name: str
    description: str | None = None
    label: str | None = None
    tags: tuple[str, ...] = ()
    input_parameters: tuple[McpToolInputParameter, ...] | None = None
    hints: McpToolHints | None = None
    invocable: Invocable = field(default_factory=Invocable)
    path: Path = ()


@dataclass(frozen=True, slots=True)
class McpResource(Invoking):
    """A dynamic resource (its ``invocable`` answers a read) or a static one (``location``)."""

    name: str
    uri: str
    label: str | None = None
    description: str | None = None
    mime_type: str | None = None
    invocable: Invocable = field(default_factory=Invocable)
    location: str | None = None
    path: Path = ()
    #: declared ``binary`` (Ikanos beta1+); what is returned follows the called operation's format
    binary: bool = False


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
    #: client freshness hint and cache scope of list results (Ikanos beta4+)
    ttl_ms: int | None = None
    cache_scope: Literal["public", "private"] | None = None
    #: the size limit of binary bodies (bytes), below an operation's own
    max_binary_size: int | None = None


# --- control --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlManagement:
    """Which management routes a control adapter serves (``logs`` and ``scripting`` are not served)."""

    health: bool = True
    info: bool = False
    reload: bool = False
    validate: bool = False
    logs: bool = False
    scripting: bool = False
    #: ``scripting`` as written: the defaults and limits script steps run with (``spec.files``)
    scripting_settings: Mapping[str, Any] = field(default_factory=dict)
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Observability:
    """A control adapter's ``observability`` block. ``traces`` is whether the block declares them."""

    enabled: bool = True
    metrics: bool = True
    traces: bool = False
    sampling: float = 1.0
    propagation: str = "w3c"
    traces_local: bool = True
    buffer_size: int = 100
    otlp_endpoint: str | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ExposesControl:
    """The management and observability port. It has no namespace in the spec; ``control`` names it."""

    port: int | None
    address: str | None = None
    authentication: Authentication | None = None
    management: ControlManagement = field(default_factory=ControlManagement)
    observability: Observability = field(default_factory=Observability)
    path: Path = ()
    namespace: str = "control"
    type: Literal["control"] = "control"


# --- others ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposesOther:
    """A ``skill`` adapter, kept as written (``raw``): the skill exposer reads it."""

    type: str
    namespace: str | None
    port: int | None
    raw: Mapping[str, Any] = field(default_factory=dict)
    path: Path = ()

    @property
    def address(self) -> str | None:
        value = self.raw.get("address")
        return value if isinstance(value, str) else None


Exposes = ExposesRest | ExposesMcp | ExposesControl | ExposesOther
