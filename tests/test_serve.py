"""``naftiko serve`` as a real process: start-up lines, requests, access logs, exit codes and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from naftiko_runtime.errors import ConfigError, ServeError, SpecError
from naftiko_runtime.server import BoundAdapter, prepare, serve

from .support import ROOT, free_port, requires_shared, write_seed

pytestmark = pytest.mark.e2e

TOKEN = "tok-serve-8d41c2a7"

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Echo, description: serve tests}
binds:
- namespace: env
  keys: {ECHO_TOKEN: ECHO_TOKEN}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: http://127.0.0.1:9
    authentication: {type: bearer, token: "{{ECHO_TOKEN}}"}
    resources:
    - name: any
      path: /any/{rest}
      operations:
      - name: get-any
        method: GET
        inputParameters: [{name: rest, in: path}, {name: x-echo-delay, in: header}]
  exposes:
  - type: rest
    namespace: NAMESPACE
    port: 18080
    resources:
    - path: /any/{rest}
      operations: [{method: GET, name: get-any, call: echo.get-any}]
"""

SHARED_CONSUMES = """\
naftiko: 1.0.0-alpha2
consumes:
- type: http
  namespace: echo
  baseUri: http://127.0.0.1:9
  authentication: {type: bearer, token: "{{ECHO_TOKEN}}"}
  resources:
  - name: any
    path: /any/{rest}
    operations:
    - {name: get-any, method: GET, inputParameters: [{name: rest, in: path}]}
"""

IMPORTING = """\
naftiko: 1.0.0-alpha2
info: {label: Importer, description: uses a shared consumes file}
binds:
- namespace: env
  keys: {ECHO_TOKEN: ECHO_TOKEN}
capability:
  consumes:
  - {import: echo, location: ./echo-consumes.yaml}
  exposes:
  - type: rest
    namespace: importer
    port: 18081
    resources:
    - path: /any/{rest}
      operations: [{method: GET, call: echo.get-any}]
  - type: control
    port: 18082
"""

ADAPTER_LINE = re.compile(r"\s(rest|mcp|control)\s+(\S+)\s+(http://\S+)$")
ACCESS_LINE = re.compile(
    r"naftiko\.access\s+adapter=(?P<adapter>\S+) operation=(?P<operation>-|\"[^\"]+\"|\S+) "
    r"method=(?P<method>\S+) path=(?P<path>\S+) status=(?P<status>\d+) upstream=(?P<call>\S+) "
    r"upstream_status=(?P<upstream>\S+) upstream_ms=(?:-|\d+\.\d+) duration_ms=\d+\.\d+ trace_id=-$"
)


def write_capability(
    folder: Path, namespace: str = "echo-rest", name: str | None = None, extra: str = ""
) -> Path:
    path = folder / (name or f"{namespace}.yaml")
    path.write_text(CAPABILITY.replace("NAMESPACE", namespace) + extra, encoding="utf-8")
    return path


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ECHO_TOKEN", "INNGEST_SIGNING_KEY")}
    env.update({"ECHO_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def naftiko(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "naftiko_runtime", "serve", *args],
        capture_output=True,
        text=True,
        env=env or environment(),
        cwd=ROOT,
        timeout=30,
        check=False,
    )


class Served:
    """A running ``naftiko serve`` process whose stderr is collected line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "naftiko_runtime", "serve", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env or environment(),
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if " ready: " in line:
                self._ready.set()
        self._ready.set()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def urls(self, timeout: float = 20) -> dict[str, str]:
        assert self._ready.wait(timeout), self.log
        assert self.proc.poll() is None, self.log
        return {found.group(2): found.group(3) for line in self.lines if (found := ADAPTER_LINE.search(line))}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def access_lines(self) -> list[re.Match[str]]:
        return [found for line in self.lines if (found := ACCESS_LINE.search(line))]


@contextlib.contextmanager
def served(*args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    process = Served(*args, env=env)
    try:
        yield process
    finally:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(5)
        process._reader.join(5)
        assert process.proc.stderr is not None
        process.proc.stderr.close()


# --- serving -------------------------------------------------------------------------------------------


def test_serves_requests_and_writes_one_access_line_per_request(tmp_path: Path, echo: str) -> None:
    path = write_capability(tmp_path)
    with served(str(path), "--port", "echo-rest=0", "--upstream", f"echo={echo}") as server:
        urls = server.urls()
        assert list(urls) == ["echo-rest"] and re.fullmatch(r"http://127\.0\.0\.1:\d+/", urls["echo-rest"])
        assert any(re.search(r"\srest  echo-rest  http://127\.0\.0\.1:\d+/$", line) for line in server.lines)
        base = urls["echo-rest"].rstrip("/")
        response = httpx.get(f"{base}/any/a%2Fb", params={"secret-looking": TOKEN})
        assert response.status_code == 200
        echoed = response.json()
        assert echoed["path"] == "/any/a%2Fb" and echoed["headers"]["authorization"] == "Bearer ***"
        assert httpx.get(f"{base}/nowhere").status_code == 404
        assert (
            httpx.get(f"{base}/openapi.json").json()["paths"]["/any/{rest}"]["get"]["operationId"]
            == "get-any"
        )
        assert server.stop() == 0
    access = [found.groupdict() for found in server.access_lines()]
    assert access[:2] == [
        {
            "adapter": "echo-rest",
            "operation": '"GET /any/{rest}"',
            "method": "GET",
            "path": "/any/a%2Fb",
            "status": "200",
            "call": "echo.get-any",
            "upstream": "200",
        },
        {
            "adapter": "echo-rest",
            "operation": "-",
            "method": "GET",
            "path": "/nowhere",
            "status": "404",
            "call": "-",
            "upstream": "-",
        },
    ]
    assert TOKEN not in server.log and "secret-looking" not in server.log


def test_sigterm_lets_the_in_flight_request_finish_and_exits_0(tmp_path: Path, echo: str) -> None:
    path = write_capability(tmp_path)
    with served(str(path), "--port", "echo-rest=0", "--upstream", f"echo={echo}") as server:
        base = server.urls()["echo-rest"].rstrip("/")
        result: dict[str, httpx.Response] = {}
        request = threading.Thread(
            target=lambda: result.setdefault(
                "r", httpx.get(f"{base}/any/slow", params={"x-echo-delay": "1"}, timeout=10)
            )
        )
        request.start()
        time.sleep(0.4)
        assert server.stop(signal.SIGTERM) == 0
        request.join(10)
    assert result["r"].status_code == 200 and result["r"].json()["path"] == "/any/slow"
    assert any("SIGTERM" in line for line in server.lines)


def test_workers_share_the_port(tmp_path: Path, echo: str) -> None:
    path = write_capability(tmp_path)
    with served(str(path), "--port", "echo-rest=0", "--upstream", f"echo={echo}", "--workers", "2") as server:
        base = server.urls()["echo-rest"].rstrip("/")
        assert any("2 worker processes" in line for line in server.lines)
        for i in range(6):  # a new connection each time, so the kernel spreads them
            assert httpx.get(f"{base}/any/w{i}").json()["path"] == f"/any/w{i}"
        assert server.stop(signal.SIGINT) == 0
    assert len(server.access_lines()) == 6


def test_folder_serves_capabilities_but_not_shared_consumes_files(tmp_path: Path, echo: str) -> None:
    (tmp_path / "echo-consumes.yaml").write_text(SHARED_CONSUMES, encoding="utf-8")
    (tmp_path / "importer.yaml").write_text(IMPORTING, encoding="utf-8")
    (tmp_path / "secrets.yml").write_text("some-key: value\n", encoding="utf-8")
    write_capability(tmp_path, "echo-rest")
    with served(
        str(tmp_path),
        *("--port", "importer=0", "--port", "echo-rest=0", "--port", "control=0"),
        *("--upstream", f"echo={echo}"),
    ) as server:
        urls = server.urls()
        assert sorted(urls) == ["control", "echo-rest", "importer"]  # two capabilities, one process
        for name in ("echo-rest", "importer"):
            assert httpx.get(urls[name] + "any/x").json()["path"] == "/any/x"
        assert httpx.get(urls["control"] + "health/ready").json()["status"] == "UP"
        assert server.stop() == 0


@requires_shared
def test_the_seed_serves_its_rest_routes(tmp_path: Path, echo: str) -> None:
    path = write_seed(tmp_path)
    env = environment(INNGEST_SIGNING_KEY="signkey-0c1d2e3f", INNGEST_EVENT_KEY="eventkey-9")
    args = (
        "--port",
        "inngest-workflow-rest=0",
        "--port",
        "inngest-workflow-mcp=0",
        "--upstream",
        f"inngest-workflow={echo}",
    )
    with served(str(path), *args, env=env) as server:
        urls = server.urls()
        rest = urls["inngest-workflow-rest"]
        assert any(
            re.search(r"\srest  inngest-workflow-rest  http://127\.0\.0\.1:\d+/$", line)
            for line in server.lines
        )
        if "inngest-workflow-mcp" in urls:
            assert urls["inngest-workflow-mcp"].endswith("/mcp")
        echoed = httpx.post(
            rest + "v1/workflows/trigger/order.created", json={"name": "order.created"}
        ).json()
        assert (echoed["path"], echoed["body"]) == ("/e/order.created", {"name": "order.created"})
        assert httpx.get(rest + "v1/workflows/runs/r-1/trace").json()["path"] == "/v2/runs/r-1/trace"
        assert server.stop() == 0
    assert "signkey-0c1d2e3f" not in server.log


def test_in_process_api(tmp_path: Path, echo: str) -> None:
    path = write_capability(tmp_path)
    started: list[list[BoundAdapter]] = []
    control: dict[str, object] = {}

    def ready(adapters: list[BoundAdapter]) -> None:
        started.append(adapters)
        control["loop"] = asyncio.get_running_loop()
        control["up"].set()  # type: ignore[attr-defined]

    async def main() -> None:
        control["stop"] = stop = asyncio.Event()
        await serve(
            [path],
            ports={"echo-rest": 0},
            upstreams={"echo": echo},
            environ={"ECHO_TOKEN": TOKEN},
            ready=ready,
            stop=stop,
        )

    control["up"] = threading.Event()
    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    assert control["up"].wait(10)  # type: ignore[attr-defined]
    (bound,) = started[0]
    assert (bound.kind, bound.namespace, bound.port) == (
        "rest",
        "echo-rest",
        int(bound.url.rsplit(":", 1)[1][:-1]),
    )
    assert httpx.get(bound.url + "any/in-process").json()["path"] == "/any/in-process"
    loop = control["loop"]
    loop.call_soon_threadsafe(control["stop"].set)  # type: ignore[attr-defined]
    thread.join(10)
    assert not thread.is_alive()


# --- refusing to start ---------------------------------------------------------------------------------


MISSING_FOLDER = """\
naftiko: 1.0.0-alpha2
info: {label: Resources, description: an MCP resource whose folder is not there}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: http://127.0.0.1:9
    resources:
    - {name: any, path: /any, operations: [{name: get-any, method: GET}]}
  exposes:
  - type: rest
    namespace: plain
    port: PLAIN_PORT
    resources:
    - path: /any
      operations: [{method: GET, call: echo.get-any}]
  - type: mcp
    namespace: docs
    port: MCP_PORT
    tools:
    - {name: any, description: Any., call: echo.get-any}
    resources:
    - {name: docs, label: Docs, uri: "docs://guide", description: The guide, location: "file:///./no-such-folder"}
"""


EMPTY_TOKEN = """\
naftiko: 1.0.0-alpha2
info: {label: Guarded, description: an MCP adapter whose inbound token is bound to an empty value}
binds:
- namespace: env
  keys: {MCP_TOKEN: MCP_TOKEN}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: http://127.0.0.1:9
    resources:
    - {name: any, path: /any, operations: [{name: get-any, method: GET}]}
  exposes:
  - type: rest
    namespace: plain
    port: PLAIN_PORT
    resources:
    - path: /any
      operations: [{method: GET, call: echo.get-any}]
  - type: mcp
    namespace: docs
    port: MCP_PORT
    authentication: {type: bearer, token: "{{MCP_TOKEN}}"}
    tools:
    - {name: any, description: Any., call: echo.get-any}
"""


def test_apps_are_built_before_any_socket_is_bound(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "guarded.yaml"
        text = EMPTY_TOKEN.replace("PLAIN_PORT", str(port)).replace("MCP_PORT", str(free_port()))
        path.write_text(text, encoding="utf-8")
        # binding first would fail on the taken port; building first finds the token that renders empty
        with pytest.raises(ConfigError, match="renders empty") as caught:
            prepare([path], environ={"MCP_TOKEN": ""})
        assert not isinstance(caught.value, ServeError) and "already in use" not in str(caught.value)
        assert str(caught.value).startswith(f"mcp adapter 'docs' ({path}): ")
        done = naftiko(str(path), env=environment(MCP_TOKEN=""))
    assert done.returncode == 1
    assert "renders empty" in done.stderr and "already in use" not in done.stderr


def test_a_missing_resource_folder_is_refused_at_load_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "resources.yaml"
    path.write_text(
        MISSING_FOLDER.replace("PLAIN_PORT", str(free_port())).replace("MCP_PORT", str(free_port()))
    )
    with pytest.raises(SpecError) as caught:
        prepare([path], environ={})
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "no-such-folder" in text)
    assert [f.format().split("  ", 1)[0] for f in caught.value.findings if f.severity == "error"] == [
        f"{path}:{line}:88"
    ]
    assert "MCP resource 'docs': file:///./no-such-folder does not exist" in str(caught.value)


def test_an_unsupported_step_type_is_refused_at_load_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "scripted.yaml"
    text = MISSING_FOLDER.replace("PLAIN_PORT", str(free_port())).replace("MCP_PORT", str(free_port()))
    text = text.split("    resources:\n    - {name: docs")[0].replace(
        "    - {name: any, description: Any., call: echo.get-any}\n",
        "    - name: any\n      description: Any.\n      steps:\n      - {type: call, name: first, call: echo.get-any}\n"
        "      - {type: script, name: second, language: javascript, location: 'file:///tmp', file: x.js}\n",
    )
    path.write_text(text, encoding="utf-8")
    line = (
        text.splitlines().index(
            "      - {type: script, name: second, language: javascript, location: 'file:///tmp', file: x.js}"
        )
        + 1
    )
    done = naftiko(str(path))
    assert done.returncode == 1 and " ready: " not in done.stderr
    assert f"{path}:{line}:" in done.stderr and "script" in done.stderr


def test_an_unusable_consumer_feature_is_refused_at_load_with_its_position(tmp_path: Path) -> None:
    # every outputRawFormat has a decoder now: a header name that is no HTTP token has no placement
    path = write_capability(tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        "    baseUri: http://127.0.0.1:9\n",
        "    baseUri: http://127.0.0.1:9\n    inputParameters: [{name: 'X Bad:', in: header}]\n",
    )
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    inputParameters: [{name: 'X Bad:', in: header}]") + 1
    done = naftiko(str(path), "--port", "echo-rest=0")
    assert done.returncode == 1
    assert (
        f"{path}:{line}:" in done.stderr and "header name 'X Bad:' is not a valid HTTP token" in done.stderr
    )
    assert " ready: " not in done.stderr
    checked = subprocess.run(
        [sys.executable, "-m", "naftiko_runtime", "validate", str(path)],
        capture_output=True,
        text=True,
        env=environment(),
        check=False,
    )
    assert (
        checked.returncode == 0
        and "warning: header name 'X Bad:' is not a valid HTTP token" in checked.stdout
    )


def test_port_in_use_exits_1_naming_the_adapter_and_port(tmp_path: Path) -> None:
    path = write_capability(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = naftiko(str(path), "--port", f"echo-rest={port}")
    assert result.returncode == 1
    assert "echo-rest" in result.stderr and f"127.0.0.1:{port}" in result.stderr
    assert "address already in use" in result.stderr


def test_two_adapters_on_one_port_exit_1_naming_both(tmp_path: Path) -> None:
    one, two = write_capability(tmp_path, "first-rest"), write_capability(tmp_path, "second-rest")
    port = str(free_port())
    result = naftiko(str(one), str(two), "--port", f"first-rest={port}", "--port", f"second-rest={port}")
    assert result.returncode == 1
    assert "first-rest" in result.stderr and "second-rest" in result.stderr and port in result.stderr


def test_load_error_exits_1_with_file_line_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(CAPABILITY.replace("NAMESPACE", "x").replace("call: echo.get-any", "call: nope.get-any"))
    result = naftiko(str(path))
    assert result.returncode == 1
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+\s.*error: .*nope", result.stderr, re.MULTILINE)


def test_strict_refuses_warnings(tmp_path: Path) -> None:
    path = write_capability(tmp_path, extra="    description: not allowed on a rest adapter\n")
    result = naftiko(str(path), "--strict", "--port", "echo-rest=0")
    assert result.returncode == 1
    assert re.search(r":\d+:\d+\s.*error: unknown key 'description'", result.stderr)


def test_missing_bind_exits_1(tmp_path: Path) -> None:
    path = write_capability(tmp_path)
    env = environment()
    del env["ECHO_TOKEN"]
    result = naftiko(str(path), "--port", "echo-rest=0", env=env)
    assert result.returncode == 1 and "ECHO_TOKEN" in result.stderr


def test_env_file_provides_binds(tmp_path: Path, echo: str) -> None:
    path = write_capability(tmp_path)
    (tmp_path / "serve.env").write_text(f"ECHO_TOKEN='{TOKEN}'\n", encoding="utf-8")
    env = environment()
    del env["ECHO_TOKEN"]
    with served(
        str(path),
        "--env-file",
        str(tmp_path / "serve.env"),
        "--port",
        "echo-rest=0",
        "--upstream",
        f"echo={echo}",
        env=env,
    ) as server:
        base = server.urls()["echo-rest"]
        assert httpx.get(base + "any/e").json()["headers"]["authorization"] == "Bearer ***"
        assert server.stop() == 0


@pytest.mark.parametrize(
    "option", [("--port", "nobody=0"), ("--upstream", "nobody=http://x"), ("--port", "echo-rest=http")]
)
def test_unknown_namespaces_and_bad_values_exit_2(tmp_path: Path, option: tuple[str, str]) -> None:
    result = naftiko(str(write_capability(tmp_path)), *option)
    assert result.returncode == 2
    assert option[0] in result.stderr


STDIO = """\
naftiko: 1.0.0-alpha2
info: {label: Stdio, description: serve --stdio}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://127.0.0.1:9
    resources:
    - name: any
      path: /any/{rest}
      operations:
      - {name: get-any, method: GET, inputParameters: [{name: rest, in: path, description: d}]}
  exposes:
  - type: mcp
    transport: stdio
    namespace: stdio-tools
    tools:
    - {name: get-any, description: Echo a path., call: api.get-any}
    - name: ping
      description: A mock answer.
      outputParameters: [{name: pong, type: boolean, const: true}]
  - type: rest
    namespace: not-with-stdio
    port: 18083
    resources:
    - path: /x/{rest}
      operations: [{method: GET, call: api.get-any}]
"""


def test_stdio_serves_the_one_stdio_adapter_over_stdin_and_stdout(tmp_path: Path, echo: str) -> None:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    path = tmp_path / "stdio.yaml"
    path.write_text(STDIO, encoding="utf-8")
    errors = tmp_path / "stderr.txt"

    async def go() -> None:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "naftiko_runtime", "serve", "--stdio", str(path), "--upstream", f"api={echo}"],
            cwd=str(ROOT),
        )
        with errors.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                assert {t.name for t in (await client.list_tools()).tools} == {"get-any", "ping"}
                got = await client.call_tool("get-any", {"rest": "a b"})
                assert isinstance(got.structured_content, dict)
                assert got.structured_content["path"] == "/any/a%20b"

    asyncio.run(go())
    assert "not-with-stdio" in errors.read_text() and "not served with --stdio" in errors.read_text()


def test_stdio_needs_exactly_one_stdio_adapter(tmp_path: Path) -> None:
    result = naftiko("--stdio", str(write_capability(tmp_path)))
    assert result.returncode == 2 and "--stdio" in result.stderr


MCP_MOCK = """\
naftiko: 1.0.0-alpha2
info: {label: m, description: m}
capability:
  exposes:
  - type: mcp
    namespace: hello-mcp
    port: 1
    tools:
    - name: hello
      description: says hello
      inputParameters:
      - {name: who, type: string, description: who}
      outputParameters:
      - {name: greeting, type: string, value: "Hello, {{who}}!"}
"""


def test_allow_host_admits_a_named_host_for_mcp_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text(MCP_MOCK)
    with served(str(path), "--port", "hello-mcp=0", "--allow-host", "agents.example") as server:
        url = server.urls()["hello-mcp"]
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
        allowed = httpx.post(url, json=body, headers={**headers, "host": "agents.example:9090"})
        assert allowed.status_code == 200 and allowed.json()["result"]["tools"][0]["name"] == "hello"
        refused = httpx.post(url, json=body, headers={**headers, "host": "evil.example:9090"})
        assert refused.status_code == 421
        assert server.stop() == 0


def test_upstream_timeout_option_gives_504(tmp_path: Path, echo: str) -> None:
    path = write_capability(tmp_path)
    args = (str(path), "--port", "echo-rest=0", "--upstream", f"echo={echo}", "--upstream-timeout", "0.5")
    with served(*args) as server:
        base = server.urls()["echo-rest"].rstrip("/")
        slow = httpx.get(f"{base}/any/a", params={"x-echo-delay": "3"}, timeout=10)
        assert slow.status_code == 504 and slow.headers["content-type"] == "application/problem+json"
        assert "did not answer within 0.5 s" in slow.json()["detail"]
        assert httpx.get(f"{base}/any/b").status_code == 200
        assert server.stop() == 0
    assert naftiko(str(path), "--upstream-timeout", "0").returncode == 2


def test_stdio_serves_an_http_mcp_adapter_when_it_is_the_only_one(tmp_path: Path) -> None:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    path = tmp_path / "mcp.yaml"
    path.write_text(MCP_MOCK)

    async def go() -> Any:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "naftiko_runtime", "serve", "--stdio", str(path)],
            cwd=str(ROOT),
        )
        with (tmp_path / "stderr.txt").open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                return await client.call_tool("hello", {"who": "Ada"})

    result = asyncio.run(go())
    assert result.structured_content == {"greeting": "Hello, Ada!"}
    assert "serving it on stdin/stdout" in (tmp_path / "stderr.txt").read_text()
