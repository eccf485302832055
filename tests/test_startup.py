"""What ``naftiko serve`` loads before its adapters answer: only what the configured adapters need.

Start-up time is mostly imports, so these tests watch the imports (an observable, unlike a timing): the
seed capability (REST and MCP adapters, bearer auth, JSON payloads, no control adapter) is prepared in a
fresh interpreter, and the libraries it has no use for before its first upstream call must not be loaded.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from .support import requires_shared, write_seed

#: loaded by no step of the seed's start-up: the HTTP client and the JSON Schema walk of the file (both
#: once the adapters answer), the MCP SDK (only for what the fast path does not answer), jsonschema (the
#: tools' schemas are compiled; it only words a rejection), metrics and tracing (no control adapter), the
#: JSONPath engine (the seed's paths are plain keys), payload parsers of other formats, inbound token
#: checks, WebSockets and file watching (nothing speaks or watches them)
NOT_AT_START = (
    "aiohttp",
    "jsonschema",
    "referencing",
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
plan = prepare([sys.argv[1]], environ=environ, ports=ports, on_finding=print, defer_schema=True)
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
    # what it does need is there: the REST and MCP apps are built, the tools' checks compiled
    assert {"starlette", "orjson", "fastjsonschema", "naftiko_runtime.exposes.mcp.fast"} <= loaded


@requires_shared
def test_the_seed_is_reported_ready_once_its_upstream_pools_are_open(tmp_path: Path) -> None:
    """The HTTP client is loaded after the adapters listen, but before the server calls itself ready."""
    loaded = _loaded(SERVE, write_seed(tmp_path))
    assert _present(loaded, ("aiohttp", "naftiko_runtime.consumes.pool")) == [
        "aiohttp",
        "naftiko_runtime.consumes.pool",
    ]
    assert _present(loaded, ("mcp", "mcp_types", "prometheus_client", "opentelemetry", "websockets")) == []


@requires_shared
def test_serve_reports_the_schema_deviations_validate_finds_before_it_says_ready(tmp_path: Path) -> None:
    """The schema check runs once the adapters listen, but its warnings still come before ``ready``."""
    seed = write_seed(tmp_path)
    validated = subprocess.run(
        [sys.executable, "-m", "naftiko_runtime", "validate", str(seed)], capture_output=True, text=True
    )
    expected = [line for line in validated.stdout.splitlines() if "  warning: " in line]
    assert len(expected) > 10  # the seed deviates from the schema in many places

    env = {**os.environ, "INNGEST_SIGNING_KEY": "k", "INNGEST_EVENT_KEY": "e", "PYTHONUNBUFFERED": "1"}
    ports = ["--port", "inngest-workflow-rest=0", "--port", "inngest-workflow-mcp=0"]
    argv = [sys.executable, "-m", "naftiko_runtime", "serve", str(seed), *ports]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    before_ready: list[str] = []
    try:
        while True:
            line = lines.get(timeout=60)
            if "ready: 2 adapters" in line:
                break
            before_ready.append(line)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        reader.join(timeout=15)
        assert proc.stderr is not None
        proc.stderr.close()
    assert [line for line in before_ready if "  warning: " in line] == expected
