"""The MCP exposer: one ``type: mcp`` adapter served with the official ``mcp`` SDK's low-level server.

Over HTTP it is Streamable HTTP at ``/mcp``, stateless with JSON responses, so any number of processes
can serve one adapter; the SDK negotiates the protocol version (both the handshake era and 2026-07-28).
With ``transport: stdio`` the same server runs on stdin/stdout.

Everything is compiled when the app is built: tool descriptors, input and output schemas and their
validators, resources and prompts. A call validates its arguments, runs the core :class:`Invocation`
and turns the :class:`Outcome` or the :class:`RequestError` into a ``CallToolResult``. Handlers never
raise anything but the SDK's ``MCPError``: an unexpected exception is logged and answered generically,
because the handshake era would otherwise send ``str(exc)`` to the client.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import mimetypes
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import mcp_types as types
from jsonschema import Draft202012Validator
from mcp import MCPError
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .. import __version__
from ..engine import Invocation, Outcome, Runtime
from ..errors import ConfigError, InvalidInputError, RequestError, TemplateError, UpstreamStatusError
from ..spec import model as m
from .mcp_schema import compile_validator, schema_problem, tool_descriptor

logger = logging.getLogger(__name__)

Context = ServerRequestContext[Any, Any]
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
#: Lists never change while a process runs; clients may reuse them for a minute.
LIST_CACHE = CacheHint(ttl_ms=60_000, scope="public")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(text: str) -> list[types.ContentBlock]:
    return [types.TextContent(text=text)]


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else "a number"


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- tools ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tool:
    descriptor: types.Tool
    invocation: Invocation
    validator: Draft202012Validator
    output_validator: Draft202012Validator | None
    defaults: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.descriptor.name

    async def call(self, arguments: Mapping[str, Any]) -> types.CallToolResult:
        problem = schema_problem(self.validator, arguments)
        if problem is not None:
            return self._error(f"Invalid arguments for {self.name}: {problem}")
        inputs = {**{k: v for k, v in self.defaults.items() if k not in arguments}, **arguments}
        try:
            outcome = await self.invocation.run(inputs)
        except (InvalidInputError, TemplateError) as exc:
            return self._error(f"Invalid arguments for {self.name}: {exc.detail}", exc)
        except RequestError as exc:
            return self._error(f"{self.name} failed: {exc.detail}", exc)
        return self._result(outcome)

    def _result(self, outcome: Outcome) -> types.CallToolResult:
        structured: dict[str, Any] | None = None
        if outcome.raw_json:
            try:
                outcome = Outcome(outcome.status, data=json.loads(outcome.raw or b""))
            except ValueError:
                return self._error(f"{self.name} failed: the upstream answered with invalid JSON")
        if outcome.raw is not None:
            text = outcome.raw.decode("utf-8", "replace")
        elif outcome.empty:
            structured = {"status": outcome.status}  # the upstream answered with no body: say so
            text = _json(structured)
            if self.output_validator is not None and not self.output_validator.is_valid(structured):
                structured = {}
        else:
            text = _json(outcome.data)
            structured = outcome.data if isinstance(outcome.data, dict) else None
        scrubbed = self.invocation.redact(text)
        if scrubbed != text:
            # an upstream echoed a bound secret back: it leaves neither as text nor as structured content
            text = scrubbed
            if structured is not None:
                structured = json.loads(scrubbed)
        if self.output_validator is not None:
            if structured is None:
                kind = "a text body" if outcome.raw is not None else _json_kind(outcome.data)
                return self._error(
                    f"{self.name}: the result is {kind}, not the object its outputParameters declare: "
                    f"{_clip(text)}"
                )
            problem = schema_problem(self.output_validator, structured, "output")
            if problem is not None:
                return self._error(f"{self.name}: the result does not fit its outputParameters: {problem}")
        return types.CallToolResult(content=_text(text), structured_content=structured)

    def _error(self, text: str, exc: RequestError | None = None) -> types.CallToolResult:
        structured = None
        if exc is not None and self.descriptor.output_schema is None:
            error: dict[str, Any] = {"title": exc.title, "detail": exc.detail}
            for key, value in exc.extensions.items():
                error["upstreamStatus" if key == "upstream_status" else key] = value
            if isinstance(exc, UpstreamStatusError) and exc.body is not None:
                error["upstreamBody"] = exc.body
            structured = {"error": error}
        return types.CallToolResult(content=_text(text), structured_content=structured, is_error=True)


def _compile_tool(adapter: m.ExposesMcp, runtime: Runtime, tool: m.McpTool) -> _Tool:
    descriptor = tool_descriptor(runtime, tool)
    name = descriptor.name
    invocation = runtime.invocation(name, tool.invocable)
    schema, out = descriptor.input_schema, descriptor.output_schema
    return _Tool(
        descriptor=descriptor,
        invocation=invocation,
        validator=compile_validator(schema, f"MCP tool '{name}' input schema"),
        output_validator=compile_validator(out, f"MCP tool '{name}' output schema") if out else None,
        defaults={k: s["default"] for k, s in schema.get("properties", {}).items() if "default" in s},
    )


# --- resources ------------------------------------------------------------------------------------------

#: a static resource's path segments: no leading dot, so no ``..`` and no hidden files
_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_URI_VAR = re.compile(r"\{([A-Za-z0-9_.-]+)\}")


def _location_path(location: str, base: Path) -> Path:
    """``file:///./x`` (or ``/../x``) is relative to the capability's folder; ``file:///x`` is absolute."""
    rest = location[len("file://") :]
    if rest.startswith(("/./", "/../")):
        return (base / rest[1:]).resolve()
    return Path(rest).resolve()


@dataclass(frozen=True, slots=True)
class _Resource:
    spec: m.McpResource
    listing: tuple[types.Resource, ...] = ()  # what resources/list shows (nothing for a template)
    invocation: Invocation | None = None
    pattern: re.Pattern[str] | None = None  # a templated URI
    root: Path | None = None  # a static file or folder

    @property
    def mime_type(self) -> str:
        return self.spec.mime_type or "application/json"

    def file_for(self, uri: str) -> Path | None:
        """The file a URI names inside this static resource, refusing anything that leaves its folder."""
        root = self.root
        assert root is not None
        if uri == self.spec.uri:
            return root if root.is_file() else None
        prefix = self.spec.uri.rstrip("/") + "/"
        if not uri.startswith(prefix) or not root.is_dir():
            return None
        return _inside(root, uri[len(prefix) :].split("/"))


def _inside(root: Path, parts: list[str]) -> Path | None:
    if not parts or not all(_SEGMENT.match(p) for p in parts):
        return None
    target = root.joinpath(*parts).resolve()
    return target if target.is_relative_to(root) and target.is_file() else None


def _static_listing(res: m.McpResource, root: Path) -> tuple[types.Resource, ...]:
    def entry(uri: str, name: str, path: Path) -> types.Resource:
        mime = res.mime_type or mimetypes.guess_type(path.name)[0] or "text/plain"
        return types.Resource(
            uri=uri, name=name, title=res.label, description=res.description, mime_type=mime
        )

    if root.is_file():
        return (entry(res.uri, res.name, root),)
    listing = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if _inside(root, list(rel)) is not None:
            rel_path = "/".join(rel)
            listing.append(entry(f"{res.uri.rstrip('/')}/{rel_path}", f"{res.name}/{rel_path}", path))
    return tuple(listing)


def _compile_resource(adapter: m.ExposesMcp, runtime: Runtime, res: m.McpResource, base: Path) -> _Resource:
    if res.location is not None:
        root = _location_path(res.location, base)
        if not root.exists():
            raise ConfigError(f"MCP resource '{res.name}': location {res.location} does not exist ({root})")
        return _Resource(res, listing=_static_listing(res, root), root=root)
    invocation = runtime.invocation(res.name, res.invocable)
    if not _URI_VAR.search(res.uri):
        listed = types.Resource(
            uri=res.uri,
            name=res.name,
            title=res.label,
            description=res.description,
            mime_type=res.mime_type or "application/json",
        )
        return _Resource(res, listing=(listed,), invocation=invocation)
    pieces, pos = [], 0
    for i, match in enumerate(_URI_VAR.finditer(res.uri)):
        pieces += [re.escape(res.uri[pos : match.start()]), f"(?P<v{i}>[^/]+)"]
        pos = match.end()
    pieces.append(re.escape(res.uri[pos:]))
    return _Resource(res, invocation=invocation, pattern=re.compile("".join(pieces) + "$"))


def _uri_values(resource: _Resource, uri: str) -> dict[str, str] | None:
    if resource.pattern is None:
        return {} if uri == resource.spec.uri else None
    match = resource.pattern.match(uri)
    if match is None:
        return None
    names = _URI_VAR.findall(resource.spec.uri)
    return {name: unquote(match.group(f"v{i}")) for i, name in enumerate(names)}


async def _read_static(resource: _Resource, path: Path, uri: str) -> types.ReadResourceResult:
    data = await anyio.to_thread.run_sync(path.read_bytes)
    mime = resource.spec.mime_type or mimetypes.guess_type(path.name)[0] or "text/plain"
    contents: types.TextResourceContents | types.BlobResourceContents
    try:
        contents = types.TextResourceContents(uri=uri, mime_type=mime, text=data.decode("utf-8"))
    except UnicodeDecodeError:
        contents = types.BlobResourceContents(
            uri=uri, mime_type=mime, blob=base64.b64encode(data).decode("ascii")
        )
    return types.ReadResourceResult(contents=[contents])


# --- prompts --------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class _Prompt:
    spec: m.McpPrompt
    messages: tuple[tuple[str, str], ...]  # (role, template)

    def descriptor(self) -> types.Prompt:
        args = [
            types.PromptArgument(name=a.name, title=a.label, description=a.description, required=a.required)
            for a in self.spec.arguments
        ]
        return types.Prompt(
            name=self.spec.name,
            title=self.spec.label,
            description=self.spec.description,
            arguments=args or None,
        )

    def render(self, arguments: Mapping[str, str]) -> types.GetPromptResult:
        missing = [a.name for a in self.spec.arguments if a.required and not arguments.get(a.name)]
        if missing:
            raise MCPError(
                types.INVALID_PARAMS, f"Prompt '{self.spec.name}' needs argument(s): {', '.join(missing)}"
            )
        declared = {a.name for a in self.spec.arguments}

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in arguments:
                return str(arguments[name])
            return "" if name in declared else match.group(0)  # single pass: values are not re-read

        messages = [
            types.PromptMessage(
                role="assistant" if role == "assistant" else "user",
                content=types.TextContent(text=_PLACEHOLDER.sub(fill, template)),
            )
            for role, template in self.messages
        ]
        return types.GetPromptResult(description=self.spec.description, messages=messages)


def _compile_prompt(prompt: m.McpPrompt, base: Path) -> _Prompt:
    if prompt.location is not None:
        path = _location_path(prompt.location, base)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"MCP prompt '{prompt.name}': cannot read {prompt.location} ({exc})") from None
        return _Prompt(prompt, (("user", text),))
    return _Prompt(prompt, tuple((msg.role, msg.content) for msg in prompt.template))


# --- the server -----------------------------------------------------------------------------------------


class McpExposer:
    """One MCP adapter compiled against a runtime; :meth:`server` builds the SDK server for a transport.

    The runtime belongs to the caller, who starts and closes its upstream pools (``async with runtime``).
    """

    def __init__(self, adapter: m.ExposesMcp, runtime: Runtime) -> None:
        self.adapter = adapter
        self.runtime = runtime
        base = Path(runtime.document.file).resolve().parent
        self.tools = {t.name: t for t in (_compile_tool(adapter, runtime, tool) for tool in adapter.tools)}
        self._tool_list = [t.descriptor for t in self.tools.values()]
        self.resources = [_compile_resource(adapter, runtime, r, base) for r in adapter.resources]
        self._resource_list = [item for r in self.resources for item in r.listing]
        self.prompts = {p.name: _compile_prompt(p, base) for p in adapter.prompts}

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
        try:
            return await tool.call(params.arguments or {})
        except Exception:
            logger.exception("MCP tool %s failed unexpectedly", tool.name)
            return types.CallToolResult(
                content=_text(f"{tool.name} failed with an internal error; the server log has the details"),
                is_error=True,
            )

    async def _list_resources(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=self._resource_list)

    async def _list_resource_templates(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        templates = [
            types.ResourceTemplate(
                uri_template=r.spec.uri,
                name=r.spec.name,
                title=r.spec.label,
                description=r.spec.description,
                mime_type=r.mime_type,
            )
            for r in self.resources
            if r.pattern is not None
        ]
        return types.ListResourceTemplatesResult(resource_templates=templates)

    async def _read_resource(
        self, ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            for resource in self.resources:
                if resource.root is not None:
                    path = resource.file_for(uri)
                    if path is not None:
                        return await _read_static(resource, path, uri)
                    continue
                values = _uri_values(resource, uri)
                if values is not None:
                    assert resource.invocation is not None
                    return self._contents(resource, uri, await resource.invocation.run(values))
        except (InvalidInputError, TemplateError) as exc:
            raise MCPError(types.INVALID_PARAMS, f"Cannot read {uri}: {exc.detail}") from None
        except RequestError as exc:
            raise MCPError(types.INTERNAL_ERROR, f"Cannot read {uri}: {exc.detail}") from None
        except Exception:
            logger.exception("MCP resource %s failed unexpectedly", uri)
            raise MCPError(types.INTERNAL_ERROR, f"Cannot read {uri}: internal error") from None
        raise MCPError(types.INVALID_PARAMS, f"Resource not found: {uri}")

    @staticmethod
    def _contents(resource: _Resource, uri: str, outcome: Outcome) -> types.ReadResourceResult:
        if outcome.raw is not None:
            text = outcome.raw.decode("utf-8", "replace")
            mime = resource.spec.mime_type or outcome.content_type or "text/plain"
        else:
            text = "" if outcome.empty else _json(outcome.data)
            mime = resource.mime_type
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)]
        )

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


# --- transports -----------------------------------------------------------------------------------------


def transport_security(
    host: str, port: int, *, allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """Host and Origin checks against DNS rebinding: loopback, the bound ``host:port`` when it is not
    loopback, and any extra patterns (as the SDK reads them: ``name``, ``name:port`` or ``name:*``)."""
    hosts = [*LOOPBACK, *(f"{h}:*" for h in LOOPBACK)]
    origins = [*(f"http://{h}" for h in LOOPBACK), *(f"http://{h}:*" for h in LOOPBACK)]
    bare = host.strip("[]")
    if bare not in ("127.0.0.1", "localhost", "::1"):
        name = f"[{bare}]" if ":" in bare else bare
        where = f"{name}:{port}" if port else f"{name}:*"
        hosts.append(where)
        origins += [f"http://{where}", f"https://{where}"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *allowed_hosts],
        allowed_origins=[*origins, *allowed_origins],
    )


class _Endpoint:
    """``/mcp``: POSTs go to the SDK; GET would open an idle SSE stream in stateless mode, so it is 405."""

    def __init__(self, app: StreamableHTTPASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = PlainTextResponse(
                "GET is not supported: this MCP endpoint is stateless; POST JSON-RPC",
                status_code=405,
                headers={"Allow": "POST"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_mcp_app(
    adapter: m.ExposesMcp,
    runtime: Runtime,
    *,
    host: str,
    port: int,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
) -> Starlette:
    """A Starlette app serving the adapter at ``/mcp``; its lifespan runs the SDK's session manager.

    ``allowed_hosts``/``allowed_origins`` add to the default Host and Origin allow-lists (see
    :func:`transport_security`), e.g. the public name of a server bound to ``0.0.0.0``.
    """
    server = build_server(adapter, runtime)
    manager = StreamableHTTPSessionManager(
        app=server,
        stateless=True,
        json_response=True,
        security_settings=transport_security(
            host, port, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(
        routes=[Route("/mcp", endpoint=_Endpoint(StreamableHTTPASGIApp(manager)))], lifespan=lifespan
    )


async def run_stdio(adapter: m.ExposesMcp, runtime: Runtime) -> None:
    """Serve the adapter on stdin/stdout until stdin closes (logs belong on stderr)."""
    server = build_server(adapter, runtime)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


__all__ = ["McpExposer", "build_mcp_app", "build_server", "run_stdio", "transport_security"]
