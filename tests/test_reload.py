"""Hot reload of a running ``naftiko serve``: SIGHUP and ``POST /reload`` swap the new capability in while
in-flight calls finish; a broken file leaves the old one serving and says why."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import Client

from .test_serve import served

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Reloadable, description: hot reload tests}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: http://127.0.0.1:9
    resources:
    - name: any
      path: /any/{rest}
      operations:
      - name: get-any
        method: GET
        inputParameters: [{name: rest, in: path}, {name: x-echo-delay, in: header}]
  exposes:
  - type: mcp
    namespace: tools
    port: 0
    tools:
    - name: echo-it
      description: DESCRIPTION
      inputParameters:
      - {name: what, type: string, description: the path segment}
      - {name: delay, type: string, description: seconds the upstream waits, required: false}
      call: echo.get-any
      with: {rest: tools.what, x-echo-delay: tools.delay}
  - type: control
    port: 0
    management: {health: true, info: true, reload: true}
"""


def write(path: Path, description: str, broken: bool = False) -> None:
    text = CAPABILITY.replace("DESCRIPTION", description)
    if broken:
        text = text.replace("call: echo.get-any", "call: echo.no-such-operation")
    path.write_text(text, encoding="utf-8")


def mcp(url: str, work: Callable[[Client], Any]) -> Any:
    async def go() -> Any:
        async with Client(url) as client:
            return await work(client)

    return anyio.run(go)


def descriptions(url: str) -> list[str]:
    async def listed(client: Client) -> list[str]:
        return [t.description or "" for t in (await client.list_tools()).tools]

    return list(mcp(url, listed))


def wait_for(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sighup_swaps_in_a_changed_tool_while_a_slow_call_completes(tmp_path: Path, echo: str) -> None:
    path = tmp_path / "reloadable.yaml"
    write(path, "Echo a path (first).")
    args = ("--port", "tools=0", "--port", "control=0", "--upstream", f"echo={echo}")
    with served(str(path), *args) as server:
        urls = server.urls()
        tools, control = urls["tools"], urls["control"].rstrip("/")
        assert descriptions(tools) == ["Echo a path (first)."]
        slow: dict[str, Any] = {}

        async def slow_call(client: Client) -> Any:
            return await client.call_tool("echo-it", {"what": "slow", "delay": "1.5"})

        caller = threading.Thread(target=lambda: slow.setdefault("result", mcp(tools, slow_call)))
        caller.start()
        time.sleep(0.5)  # the call is in flight, waiting on the upstream
        write(path, "Echo a path (second).")
        server.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: descriptions(tools) == ["Echo a path (second)."])
        caller.join(10)
        result = slow["result"]
        assert not result.is_error and result.structured_content["path"] == "/any/slow"

        write(path, "Echo a path (broken).", broken=True)
        server.proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: (httpx.get(control + "/status").json()["lastReload"] or {}).get("result") == "refused"
        )
        status = httpx.get(control + "/status").json()["lastReload"]
        assert descriptions(tools) == ["Echo a path (second)."]  # the old version keeps serving
        assert any("echo.no-such-operation" in f["message"] for f in status["findings"])
        assert server.stop() == 0
    assert any("reload refused" in line for line in server.lines)
    assert any("echo.no-such-operation" in line and "error" in line for line in server.lines)


def test_post_reload_reports_the_result(tmp_path: Path, echo: str) -> None:
    path = tmp_path / "reloadable.yaml"
    write(path, "Echo a path (first).")
    args = ("--port", "tools=0", "--port", "control=0", "--upstream", f"echo={echo}")
    with served(str(path), *args) as server:
        urls = server.urls()
        control = urls["control"].rstrip("/")
        write(path, "Echo a path (posted).")
        ok = httpx.post(control + "/reload")
        assert ok.status_code == 200 and ok.json()["result"] == "ok"
        assert descriptions(urls["tools"]) == ["Echo a path (posted)."]
        write(path, "Echo a path (broken).", broken=True)
        refused = httpx.post(control + "/reload")
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["title"] == "Reload refused" and problem["findings"][0]["severity"] == "error"
        assert descriptions(urls["tools"]) == ["Echo a path (posted)."]
        assert server.stop() == 0
