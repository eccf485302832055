"""What ``naftiko serve`` loads before its adapters answer: only what the configured adapters need.

Start-up time is mostly imports, so these tests watch the imports (an observable, unlike a timing): the
seed capability (REST and MCP adapters, bearer auth, JSON payloads, no control adapter) is prepared in a
fresh interpreter, and the libraries it has no use for before its first upstream call must not be loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .support import requires_shared, write_seed

#: loaded by no step of the seed's start-up: the HTTP client (loaded once the adapters answer), the MCP
#: SDK (only for what the fast path does not answer), metrics and tracing (no control adapter), the
#: JSONPath engine (the seed's paths are plain keys), payload parsers of other formats, inbound token
#: checks, WebSockets and file watching (nothing speaks or watches them)
NOT_AT_START = (
    "aiohttp",
    "yarl",
    "mcp",
    "mcp_types",
    "pydantic",
    "prometheus_client",
    "opentelemetry",
    "jsonpath_ng",
    "fastavro",
    "google.protobuf",
    "selectolax",
    "markdown_it",
    "jwt",
    "websockets",
    "watchfiles",
)

PREPARE = """
import json, sys
from naftiko_runtime.server.plan import prepare
ports = {"inngest-workflow-rest": 0, "inngest-workflow-mcp": 0}
environ = {"INNGEST_SIGNING_KEY": "k", "INNGEST_EVENT_KEY": "e"}
plan = prepare([sys.argv[1]], environ=environ, ports=ports, on_finding=lambda finding: None)
assert [b.kind for b in plan.adapters] == ["rest", "mcp"] and all(b.app for b in plan.adapters)
plan.close()
print(json.dumps(sorted(sys.modules)))
"""

SERVE = """
import asyncio, json, sys
from naftiko_runtime.server.plan import prepare
from naftiko_runtime.server.run import run
ports = {"inngest-workflow-rest": 0, "inngest-workflow-mcp": 0}
plan = prepare([sys.argv[1]], environ={"INNGEST_SIGNING_KEY": "k", "INNGEST_EVENT_KEY": "e"}, ports=ports)
stop = asyncio.Event()

def ready(adapters):
    stop.set()

asyncio.run(run(plan, ready=ready, stop=stop, quiet=True))
plan.close()
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(script: str, capability: Path) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", script, str(capability)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))


def _present(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in loaded)]


@requires_shared
def test_preparing_the_seed_loads_none_of_the_libraries_its_adapters_do_not_need(tmp_path: Path) -> None:
    loaded = _loaded(PREPARE, write_seed(tmp_path))
    assert _present(loaded, NOT_AT_START) == []
    # what it does need is there: the REST and MCP apps are built, the fast path's JSON library loaded
    assert {"starlette", "orjson", "naftiko_runtime.exposes.mcp.fast"} <= loaded


@requires_shared
def test_the_seed_is_reported_ready_once_its_upstream_pools_are_open(tmp_path: Path) -> None:
    """The HTTP client is loaded after the adapters listen, but before the server calls itself ready."""
    loaded = _loaded(SERVE, write_seed(tmp_path))
    assert _present(loaded, ("aiohttp", "naftiko_runtime.consumes.pool")) == [
        "aiohttp",
        "naftiko_runtime.consumes.pool",
    ]
    assert _present(loaded, ("mcp", "mcp_types", "prometheus_client", "opentelemetry", "websockets")) == []
