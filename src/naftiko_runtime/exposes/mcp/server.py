"""One ``type: mcp`` adapter as an MCP server: the official SDK's low-level server over the compiled tools,
resources and prompts, free of any transport (:mod:`.transport` serves it).

Handlers never raise anything but the SDK's ``MCPError``: an unexpected exception is logged and answered
generically, because the handshake era would otherwise send ``str(exc)`` to the client.
"""

from __future__ import annotations

import logging
from typing import Any

import mcp_types as types
from mcp import MCPError
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from ... import __version__
from ...engine import Runtime
from ...errors import InvalidInputError, RequestError, TemplateError
from ...observability import hooks
from ...observability.context import note_operation
from ...spec import model as m
from .checks import capability_folder
from .prompts import compile_prompt
from .resources import compile_resource
from .tools import compile_tool, text_content

logger = logging.getLogger("naftiko_runtime.exposes.mcp")

Context = ServerRequestContext[Any, Any]
#: Lists never change while a process runs; clients may reuse them for a minute.
LIST_CACHE = CacheHint(ttl_ms=60_000, scope="public")


class McpExposer:
    """One MCP adapter compiled against a runtime; :meth:`server` builds the SDK server for a transport.

    The runtime belongs to the caller, who starts and closes its upstream pools (``async with runtime``).
    """

    def __init__(self, adapter: m.ExposesMcp, runtime: Runtime) -> None:
        self.adapter = adapter
        self.runtime = runtime
        base = capability_folder(runtime.document)
        self.tools = {t.name: t for t in (compile_tool(adapter, runtime, tool) for tool in adapter.tools)}
        self._tool_list = [t.descriptor for t in self.tools.values()]
        self.resources = [compile_resource(adapter, runtime, r, base) for r in adapter.resources]
        self._resource_list = [item for r in self.resources for item in r.listing]
        self._templates = [r.template() for r in self.resources if r.pattern is not None]
        self.prompts = {p.name: compile_prompt(p, base) for p in adapter.prompts}

    def server(self) -> Server[Any]:
        info = self.runtime.document.info
        handlers: dict[str, Any] = {}
        if self.resources:
            handlers.update(
                on_list_resources=self._list_resources,
                on_read_resource=self._read_resource,
                on_list_resource_templates=self._list_resource_templates,
            )
        if self.prompts:
            handlers.update(on_list_prompts=self._list_prompts, on_get_prompt=self._get_prompt)
        return Server(
            self.adapter.namespace,
            version=__version__,
            title=info.label if info else None,
            instructions=self.adapter.description,
            cache_hints={
                method: LIST_CACHE
                for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list")
            },
            get_tool_input_schema=lambda name: (
                self.tools[name].descriptor.input_schema if name in self.tools else None
            ),
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            **handlers,
        )

    async def _list_tools(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self._tool_list)

    async def _call_tool(self, ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = self.tools.get(params.name)
        if tool is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
        note_operation(tool.name)
        event = hooks.tool_started(tool.name, params.meta, ctx.request_id)
        error: Exception | None = None
        try:
            result = await tool.call(params.arguments or {})
        except Exception as exc:
            logger.exception("MCP tool %s failed unexpectedly", tool.name)
            error = exc
            result = types.CallToolResult(
                content=text_content(
                    f"{tool.name} failed with an internal error; the server log has the details"
                ),
                is_error=True,
            )
        if event is not None:
            hooks.tool_ended(event, bool(result.is_error), error)
        return result

    async def _list_resources(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=self._resource_list)

    async def _list_resource_templates(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=self._templates)

    async def _read_resource(
        self, ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            for resource in self.resources:
                if resource.root is not None:
                    path = resource.file_for(uri)
                    if path is not None:
                        return await resource.read_file(path, uri)
                    continue
                values = resource.uri_values(uri)
                if values is not None:
                    assert resource.invocation is not None
                    return resource.contents(uri, await resource.invocation.run(values))
        except (InvalidInputError, TemplateError) as exc:
            raise MCPError(types.INVALID_PARAMS, f"Cannot read {uri}: {exc.detail}") from None
        except RequestError as exc:
            raise MCPError(types.INTERNAL_ERROR, f"Cannot read {uri}: {exc.detail}") from None
        except Exception:
            logger.exception("MCP resource %s failed unexpectedly", uri)
            raise MCPError(types.INTERNAL_ERROR, f"Cannot read {uri}: internal error") from None
        raise MCPError(types.INVALID_PARAMS, f"Resource not found: {uri}")

    async def _list_prompts(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[p.descriptor() for p in self.prompts.values()])

    async def _get_prompt(self, ctx: Context, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        prompt = self.prompts.get(params.name)
        if prompt is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {params.name}")
        return prompt.render(params.arguments or {})


def build_server(adapter: m.ExposesMcp, runtime: Runtime) -> Server[Any]:
    """The SDK server for an adapter, free of any transport (``Client(server)`` drives it in memory)."""
    return McpExposer(adapter, runtime).server()
