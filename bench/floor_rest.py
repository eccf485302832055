"""The REST floor: the smallest hand-written proxy of the seed's ``GET /v1/workflows/runs/{runid}``.

Starlette + uvicorn + one shared aiohttp ClientSession, the same stack as ``naftiko serve``. It does only
what no runtime could skip: quote the path parameter, send the bearer token upstream, and return the
upstream's JSON (bytes as received, with its status).

Served the way such a proxy is deployed: uvicorn on uvloop with httptools (``uvicorn[standard]``), as
``naftiko serve`` runs.

Usage: python floor_rest.py PORT UPSTREAM_URL UPSTREAM_PATH [GC_YOUNG_THRESHOLD]
(UPSTREAM_PATH like /v2/runs/{runId}). Reads the bearer token from INNGEST_SIGNING_KEY. With
GC_YOUNG_THRESHOLD, the garbage collector's youngest generation gets the threshold ``naftiko serve`` sets
while it serves: the like-for-like floor of the report (the floor itself keeps CPython's default).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PORT, UPSTREAM, UPSTREAM_PATH = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if len(sys.argv) > 4:
    gc.set_threshold(int(sys.argv[4]), *gc.get_threshold()[1:])
HEADERS = {"Authorization": f"Bearer {os.environ['INNGEST_SIGNING_KEY']}"}
client: aiohttp.ClientSession


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global client
    async with aiohttp.ClientSession(UPSTREAM, headers=HEADERS) as client:
        yield


async def get_run(request: Request) -> Response:
    url = UPSTREAM_PATH.replace("{runId}", quote(request.path_params["runid"], safe=""))
    async with client.get(url) as upstream:
        body = await upstream.read()
        return Response(body, status_code=upstream.status, media_type=upstream.content_type)


app = Starlette(routes=[Route("/v1/workflows/runs/{runid}", get_run)], lifespan=lifespan)

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
