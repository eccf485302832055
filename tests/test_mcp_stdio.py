"""``transport: stdio``: the same MCP tools served by ``naftiko serve --stdio``, driven by the SDK client."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp import types as mt

TOKEN = "tok-stdio-51c0e2"
MODES = {"legacy": "2025-11-25", "auto": "2026-07-28"}

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Stdio Tools, description: The MCP exposer on stdin and stdout}
binds:
- namespace: env
  keys: {API_TOKEN: STDIO_TEST_TOKEN}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.invalid
    authentication: {type: bearer, token: "{{API_TOKEN}}"}
    resources:
    - name: runs
      path: /runs/{runId}
      operations:
      - name: get-run
        method: GET
        inputParameters:
        - {name: runId, in: path, description: The run}
  exposes:
  - type: mcp
    transport: stdio
    namespace: stdio-tools
    description: Tools over stdio.
    tools:
    - name: get-run
      description: Get a run.
      hints: {readOnly: true, idempotent: true}
      call: api.get-run
      with: {runId: tools.id}
    - name: ping
      description: A mock answer.
      outputParameters:
      - {name: pong, type: boolean, const: true}
"""


@pytest.mark.parametrize("mode", MODES)
def test_stdio_serves_the_same_tools(tmp_path: Path, mode: str, echo: str) -> None:
    path = tmp_path / "stdio.yaml"
    path.write_text(CAPABILITY, encoding="utf-8")

    async def go(upstream: str) -> None:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "naftiko_runtime", "serve", "--stdio", str(path), "--upstream", f"api={upstream}"],
            env={"STDIO_TEST_TOKEN": TOKEN},
        )
        async with Client(params, mode=mode) as client:
            assert client.protocol_version == MODES[mode]
            assert client.server_info is not None and client.server_info.name == "stdio-tools"
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert tools["get-run"].input_schema == {
                "type": "object",
                "properties": {"id": {"type": "string", "description": "The run"}},
                "required": ["id"],
            }
            got = await client.call_tool("get-run", {"id": "r 1"})
            assert not got.is_error
            assert isinstance(got.structured_content, dict)
            assert got.structured_content["path"] == "/runs/r%201"
            assert (
                got.structured_content["headers"]["authorization"] == "Bearer ***"
            )  # a bound secret, masked
            pong = await client.call_tool("ping", {})
            assert pong.structured_content == {"pong": True}
            bad = await client.call_tool("get-run", {"id": 3})
            assert bad.is_error
            assert isinstance(bad.content[0], mt.TextContent)
            assert (
                bad.content[0].text
                == "Invalid arguments for get-run: argument 'id': 3 is not of type 'string'"
            )
            with pytest.raises(MCPError) as caught:
                await client.call_tool("nope", {})
            assert caught.value.code == mt.INVALID_PARAMS

    anyio.run(go, echo)
