"""End to end: the local Inngest stand-in and ``naftiko serve`` as real processes, driven over REST and MCP.

The whole durable-workflow lifecycle (send an event, find the run it started, read its summary and trace,
discover functions, list runs by status, cancel) and its error cases, for the project's capability file
and for the seed file as it was published.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from .support import ROOT, requires_shared, write_seed

pytestmark = pytest.mark.e2e

EVENT_KEY = "e2e-event-key"
SIGNING_KEY = "signkey-test-00112233445566778899aabbccddeeff"
CAPABILITY = ROOT / "capabilities" / "durable-workflow.yaml"

STANDIN_CONFIG = {
    "event_keys": [EVENT_KEY],
    "signing_keys": [SIGNING_KEY],
    "time_scale": 1,
    "apps": [
        {
            "id": "shop",
            "name": "Shop",
            "functions": [
                {
                    "id": "process-order",
                    "name": "Process order",
                    "triggers": [{"event": "shop/order.created"}],
                    "steps": [
                        {"id": "charge", "name": "Charge", "duration_ms": 200, "output": {"charged": True}},
                        {"id": "wait", "name": "Wait for shipping", "op": "SLEEP", "duration_ms": 600000},
                    ],
                },
                {
                    "id": "welcome",
                    "name": "Send welcome email",
                    "triggers": [{"event": "shop/user.signup"}],
                    "steps": [{"id": "send", "name": "Send", "duration_ms": 50}],
                    "output": {"sent": True},
                },
            ],
        }
    ],
}


class Process:
    """A child process whose output lines are collected in the background."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = regex.search(line)
                if match:
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("standin") / "inngest.json"
    config.write_text(json.dumps(STANDIN_CONFIG))
    proc = Process([sys.executable, "-m", "naftiko_inngest_dev", "--port", "0", "--config", str(config)])
    try:
        yield proc.wait_for(r"listening on (http://\S+)").group(1)
    finally:
        proc.stop()


def serve(path: Path, upstreams: dict[str, str], env: dict[str, str]) -> tuple[Process, dict[str, str]]:
    args = [sys.executable, "-m", "naftiko_runtime", "serve", str(path)]
    text = path.read_text()
    for namespace in re.findall(r"^\s+namespace: (\S+)$", text, re.MULTILINE):
        if namespace in upstreams:
            args += ["--upstream", f"{namespace}={upstreams[namespace]}"]
    for namespace in re.findall(r"- type: (?:rest|mcp)\n\s+namespace: (\S+)", text):
        args += ["--port", f"{namespace}=0"]
    proc = Process(args, env)
    proc.wait_for(r"ready")
    urls = {
        m.group(2): m.group(3)
        for line in proc.lines
        if (m := re.search(r"(rest|mcp)\s+(\S+)\s+(http://\S+)", line))
    }
    return proc, urls


@pytest.fixture(scope="module")
def workflow(standin: str) -> Iterator[dict[str, str]]:
    env = {"INNGEST_EVENT_KEY": EVENT_KEY, "INNGEST_SIGNING_KEY": SIGNING_KEY}
    proc, urls = serve(CAPABILITY, {"inngest-events": standin, "inngest-api": standin}, env)
    try:
        yield {
            "rest": urls["workflows-rest"].rstrip("/"),
            "mcp": urls["workflows-mcp"],
            "log": "\n".join(proc.lines),
        }
    finally:
        proc.stop()
        assert SIGNING_KEY not in "\n".join(proc.lines) and EVENT_KEY not in "\n".join(proc.lines)


def poll(fetch: Any, until: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


# --- REST ---------------------------------------------------------------------------------------------


def test_rest_lifecycle(workflow: dict[str, str]) -> None:
    base = workflow["rest"]
    with httpx.Client(base_url=base, timeout=10) as http:
        sent = http.post(
            "/v1/workflows/trigger", json={"name": "shop/order.created", "data": {"orderId": "o-1"}}
        )
        assert sent.status_code == 200, sent.text
        (event_id,) = sent.json()["eventIds"]

        runs = poll(lambda: http.get(f"/v1/workflows/events/{event_id}/runs").json()["data"], bool)
        assert [r["function"]["id"] for r in runs] == ["process-order"]
        run_id = runs[0]["id"]

        run = poll(
            lambda: http.get(f"/v1/workflows/runs/{run_id}").json()["data"],
            lambda r: r["status"] == "RUNNING",
        )
        assert run["status"] == "RUNNING" and run["trigger"]["eventIds"] == [event_id]

        trace = http.get(f"/v1/workflows/runs/{run_id}/trace").json()["data"]
        assert trace["runId"] == run_id and trace["rootSpan"]["name"] == "Process order"
        assert [s["name"] for s in trace["rootSpan"]["children"]][:1] == ["Charge"]

        apps = http.get("/v1/workflows/apps").json()["data"]
        assert [a["id"] for a in apps] == ["shop"]
        functions = http.get("/v1/workflows/apps/shop/functions").json()["data"]
        assert {f["id"]: f["triggers"][0]["value"] for f in functions} == {
            "process-order": "shop/order.created",
            "welcome": "shop/user.signup",
        }
        running = http.get("/v1/workflows/runs", params={"status": "RUNNING"}).json()["data"]
        assert run_id in [r["id"] for r in running]

        cancelled = http.post(f"/v1/workflows/runs/{run_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["data"]["runId"] == run_id
        assert http.get(f"/v1/workflows/runs/{run_id}").json()["data"]["status"] == "CANCELLED"

        again = http.post(f"/v1/workflows/runs/{run_id}/cancel")
        assert again.status_code == 409
        assert again.json()["errors"][0]["code"] == "run_already_cancelled"


def test_rest_error_cases(workflow: dict[str, str], standin: str) -> None:
    with httpx.Client(base_url=workflow["rest"], timeout=10) as http:
        missing = http.get("/v1/workflows/runs/01J0000000000000000000000Z")
        assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"
        invalid = http.get("/v1/workflows/runs/not-a-ulid")
        assert invalid.status_code == 400

        sent = http.post("/v1/workflows/trigger", json={"name": "shop/user.signup", "data": {}}).json()
        runs = poll(lambda: http.get(f"/v1/workflows/events/{sent['eventIds'][0]}/runs").json()["data"], bool)
        run_id = runs[0]["id"]
        poll(
            lambda: http.get(f"/v1/workflows/runs/{run_id}").json()["data"]["status"],
            lambda s: s == "COMPLETED",
        )
        ended = http.post(f"/v1/workflows/runs/{run_id}/cancel")
        assert ended.status_code == 409 and ended.json()["errors"][0]["code"] == "run_already_ended"

        bad_body = http.post("/v1/workflows/trigger", json={"data": {}})
        assert bad_body.status_code == 400 and "event name" in bad_body.text


def test_rest_bad_event_key(standin: str) -> None:
    env = {"INNGEST_EVENT_KEY": "not-the-key", "INNGEST_SIGNING_KEY": SIGNING_KEY}
    proc, urls = serve(CAPABILITY, {"inngest-events": standin, "inngest-api": standin}, env)
    try:
        r = httpx.post(urls["workflows-rest"].rstrip("/") + "/v1/workflows/trigger", json={"name": "shop/x"})
        assert r.status_code == 401 and r.json()["error"] == "Event key not found"
        assert "not-the-key" not in r.text
    finally:
        proc.stop()
    assert "not-the-key" not in "\n".join(proc.lines)


# --- MCP ----------------------------------------------------------------------------------------------


async def _mcp_lifecycle(url: str) -> None:
    async with Client(url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {
            "trigger-workflow",
            "list-event-runs",
            "get-canonical-run",
            "get-run-trace",
            "cancel-workflow",
            "discover-functions",
            "list-apps",
            "list-runs",
        } <= set(tools)
        assert (
            tools["cancel-workflow"].annotations is not None
            and tools["cancel-workflow"].annotations.destructive_hint
        )

        sent = await client.call_tool(
            "trigger-workflow", {"name": "shop/order.created", "data": {"orderId": "o-2"}}
        )
        assert not sent.is_error, sent.content
        (event_id,) = sent.structured_content["eventIds"]  # type: ignore[index]

        runs: list[Any] = []
        for _ in range(100):
            result = await client.call_tool("list-event-runs", {"eventId": event_id})
            runs = result.structured_content["data"]  # type: ignore[index]
            if runs:
                break
            await asyncio.sleep(0.1)
        run_id = runs[0]["id"]

        run = await client.call_tool("get-canonical-run", {"runId": run_id})
        assert run.structured_content["data"]["function"]["id"] == "process-order"  # type: ignore[index]
        trace = await client.call_tool("get-run-trace", {"runId": run_id})
        assert trace.structured_content["data"]["rootSpan"]["name"] == "Process order"  # type: ignore[index]
        functions = await client.call_tool("discover-functions", {"appId": "shop"})
        assert "process-order" in json.dumps(functions.structured_content)

        cancelled = await client.call_tool("cancel-workflow", {"runId": run_id})
        assert not cancelled.is_error
        after = await client.call_tool("get-canonical-run", {"runId": run_id})
        assert after.structured_content["data"]["status"] == "CANCELLED"  # type: ignore[index]

        again = await client.call_tool("cancel-workflow", {"runId": run_id})
        assert (
            again.is_error
            and "409" in again.content[0].text
            and "run_already_cancelled" in again.content[0].text
        )  # type: ignore[union-attr]
        unknown = await client.call_tool("get-canonical-run", {"runId": "01J0000000000000000000000Z"})
        assert unknown.is_error and "404" in unknown.content[0].text  # type: ignore[union-attr]
        no_arg = await client.call_tool("get-canonical-run", {})
        assert no_arg.is_error and "runId" in no_arg.content[0].text  # type: ignore[union-attr]


def test_mcp_lifecycle(workflow: dict[str, str]) -> None:
    asyncio.run(_mcp_lifecycle(workflow["mcp"]))


# --- the seed, as published ------------------------------------------------------------------------------


@requires_shared
def test_seed_as_written(standin: str, tmp_path: Path) -> None:
    seed = write_seed(tmp_path)
    env = {"INNGEST_EVENT_KEY": EVENT_KEY, "INNGEST_SIGNING_KEY": SIGNING_KEY}
    proc, urls = serve(seed, {"inngest-workflow": standin}, env)
    try:
        base = urls["inngest-workflow-rest"].rstrip("/")
        with httpx.Client(base_url=base, timeout=10) as http:
            sent = http.post(
                f"/v1/workflows/trigger/{EVENT_KEY}", json={"name": "shop/order.created", "data": {}}
            )
            assert sent.status_code == 200 and sent.json()["status"] == 200
            event_id = sent.json()["ids"][0]
            auth = {"Authorization": f"Bearer {SIGNING_KEY}"}
            runs = poll(
                lambda: httpx.get(f"{standin}/v1/events/{event_id}/runs", headers=auth).json()["data"], bool
            )
            run_id = runs[0]["run_id"]

            assert http.get(f"/v1/workflows/runs/{run_id}").json()["data"]["id"] == run_id
            assert http.get(f"/v1/workflows/runs/{run_id}/trace").json()["data"]["runId"] == run_id

            functions = http.get("/v1/workflows/functions")
            assert functions.status_code == 404 and "404 page not found" in functions.text
            cancel = http.post(f"/v1/workflows/runs/{run_id}/cancel")
            assert cancel.status_code == 404

        async def mcp() -> None:
            async with Client(urls["inngest-workflow-mcp"]) as client:
                run = await client.call_tool("get-canonical-run", {"runId": run_id})
                assert not run.is_error and run.structured_content["data"]["id"] == run_id  # type: ignore[index]
                for tool, args in (("discover-functions", {}), ("cancel-workflow", {"runId": run_id})):
                    result = await client.call_tool(tool, args)
                    assert result.is_error and "404" in result.content[0].text, (tool, result)  # type: ignore[union-attr]

        asyncio.run(mcp())
    finally:
        proc.stop()
