"""The MCP peer: FastMCP's OpenAPI integration serving the same upstream from ``upstream-openapi.json``.

Same transport settings as the others: stateless Streamable HTTP with JSON responses at ``/mcp``. The
bearer token goes upstream as a default header of FastMCP's HTTP client. Runs in the bench venv
(fastmcp==4.2.3, the newest that installs here; uvicorn[standard]). ``--loop``/``--http`` pin uvicorn's
event loop and HTTP parser to what the project's venv has (uvloop and httptools by default), so every
server gets the same plumbing.

Usage: python peer_fastmcp.py PORT UPSTREAM_URL [--loop uvloop] [--http httptools]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import httpx2
import uvicorn
from fastmcp import FastMCP


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("upstream")
    parser.add_argument("--loop", default="uvloop")
    parser.add_argument("--http", default="httptools")
    args = parser.parse_args()
    spec = json.loads((Path(__file__).parent / "upstream-openapi.json").read_text())
    client = httpx2.AsyncClient(
        base_url=args.upstream,
        headers={"Authorization": f"Bearer {os.environ['INNGEST_SIGNING_KEY']}"},
        timeout=30.0,
    )
    mcp = FastMCP.from_openapi(openapi_spec=spec, client=client, name="bench-peer")
    app = mcp.http_app(path="/mcp", stateless_http=True, json_response=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        loop=args.loop,
        http=args.http,
    )


if __name__ == "__main__":
    main()
