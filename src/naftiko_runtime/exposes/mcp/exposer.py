"""One ``type: mcp`` adapter compiled against a runtime: its tools, resources and prompts, and what each MCP
method answers, in wire form (plain JSON values) and free of the MCP SDK. Both transports' paths call these
methods: the fast path (:mod:`.fast`) writes the answers itself, the SDK's server (:mod:`.server`) wraps
them in its models, so the two cannot answer differently.

Nothing raises but :class:`~.wire.ProtocolError`: an unexpected exception is logged and answered
generically, because the handshake era would otherwise send ``str(exc)`` to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from ... import __version__
from ...engine import Runtime
from ...errors import InvalidInputError, RequestError, TemplateError
from ...observability import hooks
from ...observability.context import note_operation
from ...spec import model as m
from .checks import capability_folder
from .prompts import compile_prompt
from .resources import compile_resource
from .tools import Result, Tool, compile_tool, tool_result
from .wire import INTERNAL_ERROR, INVALID_PARAMS, ProtocolError, present

logger = logging.getLogger("naftiko_runtime.exposes.mcp")

#: Lists never change while a process runs; clients may reuse them for a minute.
LIST_TTL_MS = 60_000
LIST_SCOPE: Literal["public", "private"] = "public"
LIST_METHODS = ("tools/list", "prompts/list", "resources/list", "resources/templates/list")


class McpExposer:
    """One MCP adapter compiled against a runtime.

    The runtime belongs to the caller, who starts and closes its upstream pools (``async with runtime``).
    """

    def __init__(self, adapter: m.ExposesMcp, runtime: Runtime) -> None:
        self.adapter = adapter
        self.runtime = runtime
        base = capability_folder(runtime.document)
        self.tools: dict[str, Tool] = {
            t.name: t for t in (compile_tool(adapter, runtime, tool) for tool in adapter.tools)
        }
        self.resources = [compile_resource(adapter, runtime, r, base) for r in adapter.resources]
        self.prompts = {p.name: compile_prompt(p, base) for p in adapter.prompts}
        info = runtime.document.info
        self.name = adapter.namespace
        self.title = info.label if info else None
        self.instructions = adapter.description
        self.version = info.version if info and info.version else __version__
        #: how long clients may reuse a list: the adapter's ``ttlMs``/``cacheScope``, else a public minute
        self.list_ttl_ms = LIST_TTL_MS if adapter.ttl_ms is None else adapter.ttl_ms
        self.list_scope: Literal["public", "private"] = adapter.cache_scope or (
            LIST_SCOPE if adapter.ttl_ms is None else "private"
        )
        #: ``resources/read`` and ``server/discover``: the adapter's hints, else re-request every time
        self.read_ttl_ms = adapter.ttl_ms or 0
        self.read_scope: Literal["public", "private"] = adapter.cache_scope or "private"
        #: ``serverInfo``, as ``initialize`` and the 2026-07-28 ``_meta`` stamp show it
        self.server_info = present(name=self.name, title=self.title, version=self.version)
        self.capabilities: dict[str, Any] = {}
        if self.prompts:
            self.capabilities["prompts"] = {"listChanged": False}
        if self.resources:
            self.capabilities["resources"] = {"listChanged": False, "subscribe": False}
        self.capabilities["tools"] = {"listChanged": False}

    # --- lists ------------------------------------------------------------------------------------------

    def list_tools(self) -> dict[str, Any]:
        return {"tools": [t.descriptor for t in self.tools.values()]}

    def list_resources(self) -> dict[str, Any]:
        return {"resources": [item for r in self.resources for item in r.listing]}

    def list_resource_templates(self) -> dict[str, Any]:
        return {"resourceTemplates": [r.template() for r in self.resources if r.pattern is not None]}

    def list_prompts(self) -> dict[str, Any]:
        return {"prompts": [p.descriptor() for p in self.prompts.values()]}

    # --- calls ------------------------------------------------------------------------------------------

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        meta: Mapping[str, Any] | None = None,
        request_id: str | int | None = None,
    ) -> Result:
        """Call a tool; ``meta`` (the request's ``_meta``) and ``request_id`` go to the observer."""
        tool = self.tools.get(name)
        if tool is None:
            raise ProtocolError(INVALID_PARAMS, f"Unknown tool: {name}")
        note_operation(tool.name)
        event = hooks.tool_started(tool.name, meta, request_id)
        error: Exception | None = None
        try:
            result = await tool.call(arguments or {})
        except Exception as exc:
            logger.exception("MCP tool %s failed unexpectedly", tool.name)
            error = exc
            result = tool_result(
                f"{tool.name} failed with an internal error; the server log has the details", is_error=True
            )
        if event is not None:
            hooks.tool_ended(event, bool(result["isError"]), error)
        return result

    async def read_resource(self, uri: str) -> dict[str, Any]:
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
                    return await resource.contents(uri, await resource.invocation.run(values))
        except (InvalidInputError, TemplateError) as exc:
            raise ProtocolError(INVALID_PARAMS, f"Cannot read {uri}: {exc.detail}") from None
        except RequestError as exc:
            raise ProtocolError(INTERNAL_ERROR, f"Cannot read {uri}: {exc.detail}") from None
        except Exception:
            logger.exception("MCP resource %s failed unexpectedly", uri)
            raise ProtocolError(INTERNAL_ERROR, f"Cannot read {uri}: internal error") from None
        raise ProtocolError(INVALID_PARAMS, f"Resource not found: {uri}")

    def get_prompt(self, name: str, arguments: Mapping[str, str] | None) -> dict[str, Any]:
        prompt = self.prompts.get(name)
        if prompt is None:
            raise ProtocolError(INVALID_PARAMS, f"Unknown prompt: {name}")
        return prompt.render(arguments or {})
