"""The official SDK's low-level server over a compiled adapter (:class:`~.exposer.McpExposer`), free of any
transport (:mod:`.transport` serves it). Everything the fast path does not answer comes here: stdio, the
methods it does not serve, and requests it leaves to the SDK. Importing this module imports the SDK.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp import MCPError
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from ...engine import Runtime
from ...spec import model as m
from .exposer import McpExposer
from .wire import ProtocolError

Context = ServerRequestContext[Any, Any]


class _Handlers:
    """The SDK's handlers: each calls the exposer and validates its wire answer into the SDK's model."""

    def __init__(self, exposer: McpExposer) -> None:
        self.exposer = exposer

    async def list_tools(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult.model_validate(self.exposer.list_tools())

    async def call_tool(self, ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            result = await self.exposer.call_tool(params.name, params.arguments, params.meta, ctx.request_id)
        except ProtocolError as exc:
            raise MCPError(exc.code, exc.message, exc.data) from None
        return types.CallToolResult.model_validate(result)

    async def list_resources(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult.model_validate(self.exposer.list_resources())

    async def list_resource_templates(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult.model_validate(self.exposer.list_resource_templates())

    async def read_resource(
        self, ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        try:
            result = await self.exposer.read_resource(str(params.uri))
        except ProtocolError as exc:
            raise MCPError(exc.code, exc.message, exc.data) from None
        return types.ReadResourceResult.model_validate(result)

    async def list_prompts(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult.model_validate(self.exposer.list_prompts())

    async def get_prompt(self, ctx: Context, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        try:
            result = self.exposer.get_prompt(params.name, params.arguments)
        except ProtocolError as exc:
            raise MCPError(exc.code, exc.message, exc.data) from None
        return types.GetPromptResult.model_validate(result)


def sdk_server(exposer: McpExposer) -> Server[Any]:
    """The SDK server answering for a compiled adapter."""
    h = _Handlers(exposer)
    handlers: dict[str, Any] = {}
    if exposer.resources:
        handlers.update(
            on_list_resources=h.list_resources,
            on_read_resource=h.read_resource,
            on_list_resource_templates=h.list_resource_templates,
        )
    if exposer.prompts:
        handlers.update(on_list_prompts=h.list_prompts, on_get_prompt=h.get_prompt)
    tools = exposer.tools
    hint = CacheHint(ttl_ms=exposer.list_ttl_ms, scope=exposer.list_scope)
    fresh = CacheHint(ttl_ms=exposer.read_ttl_ms, scope=exposer.read_scope)
    return Server(
        exposer.name,
        version=exposer.version,
        title=exposer.title,
        instructions=exposer.instructions,
        cache_hints={
            "tools/list": hint,
            "prompts/list": hint,
            "resources/list": hint,
            "resources/templates/list": hint,
            "resources/read": fresh,
            "server/discover": fresh,
        },
        get_tool_input_schema=lambda name: tools[name].input_schema if name in tools else None,
        on_list_tools=h.list_tools,
        on_call_tool=h.call_tool,
        **handlers,
    )


def build_server(adapter: m.ExposesMcp, runtime: Runtime) -> Server[Any]:
    """The SDK server for an adapter, free of any transport (``Client(server)`` drives it in memory)."""
    return sdk_server(McpExposer(adapter, runtime))
