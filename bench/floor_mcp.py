"""The MCP floor: the smallest hand-written ``mcp`` 2.x low-level server with the one tool measured.

Stateless Streamable HTTP with JSON responses at ``/mcp``, one tool ``get-canonical-run`` whose call
validates its arguments (MCP requires it), fetches the run with aiohttp (bearer token, shared session)
and returns the upstream JSON both as text and as structured content.

Served the way such a proxy is deployed: uvicorn on uvloop with httptools (``uvicorn[standard]``), as
``naftiko serve`` runs.

Usage: python floor_mcp.py PORT UPSTREAM_URL UPSTREAM_PATH   (UPSTREAM_PATH like /v2/runs/{runId})
Reads the bearer token from INNGEST_SIGNING_KEY.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import mcp_types as types
import uvicorn
from jsonschema import Draft202012Validator
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.routing import Route

PORT, UPSTREAM, UPSTREAM_PATH = int(sys.argv[1]), sys.argv[2], sys.argv[3]
HEADERS = {"Authorization": f"Bearer {os.environ['INNGEST_SIGNING_KEY']}"}
TOOL = types.Tool(
    name="get-canonical-run",
    description="Get the canonical run summary for a workflow.",
    input_schema={"type": "object", "properties": {"runId": {"type": "string"}}, "required": ["runId"]},
)
VALIDATOR = Draft202012Validator(TOOL.input_schema)
client: aiohttp.ClientSession


async def list_tools(
    ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[TOOL])


async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    error = next(iter(VALIDATOR.iter_errors(args)), None)
    if params.name != TOOL.name or error is not None:
        message = error.message if error is not None else f"unknown tool {params.name}"
        return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)
    url = UPSTREAM_PATH.replace("{runId}", quote(args["runId"], safe=""))
    async with client.get(url) as upstream:
        text = await upstream.text()
        failed = upstream.status >= 400
    return types.CallToolResult(
        content=[types.TextContent(text=text)], structured_content=json.loads(text), is_error=failed
    )


server = Server("bench-floor", version="1", on_list_tools=list_tools, on_call_tool=call_tool)
manager = StreamableHTTPSessionManager(app=server, stateless=True, json_response=True)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global client
    async with aiohttp.ClientSession(UPSTREAM, headers=HEADERS) as client, manager.run():
        yield


app = Starlette(routes=[Route("/mcp", StreamableHTTPASGIApp(manager))], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=PORT,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
