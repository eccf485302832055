"""End to end: the local Inngest stand-in and ``naftiko serve`` as real processes, driven over REST and MCP.

The whole durable-workflow lifecycle, over REST and over MCP: discover apps and functions, invoke a function
with an idempotency key (the same key again is a 409 carrying the first run id), watch the run to completion,
read its trace, rerun it from a step, start runs by events (an event id deduplicates), bulk-cancel a
function's running runs and page through runs with a cursor to the last page; its error cases; and the
seed file as it was published.
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
TOOLS = {
    "list-apps",
    "get-app",
    "list-functions",
    "get-function",
    "invoke-function",
    "send-event",
    "send-events",
    "list-event-runs",
    "list-runs",
    "list-function-runs",
    "get-run",
    "get-run-trace",
    "rerun-run",
    "cancel-run",
    "cancel-function-runs",
}

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
                        {"id": "ship", "name": "Ship", "duration_ms": 300, "output": {"shipped": True}},
                    ],
                },
                {
                    "id": "sync-inventory",
                    "name": "Sync inventory",
                    "triggers": [{"event": "shop/inventory.changed"}],
                    "steps": [
                        {"id": "wait", "name": "Wait for the warehouse", "op": "SLEEP", "duration_ms": 600000}
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
    if re.search(r"- type: control\n", text):
        args += ["--port", "control=0"]
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
    with httpx.Client(base_url=workflow["rest"], timeout=10) as http:
        # discover: the app, then its functions and what triggers them
        (app,) = http.get("/v1/workflows/apps").json()["apps"]
        assert app["id"] == "shop" and app["functionCount"] == 3
        assert http.get("/v1/workflows/apps/shop").json()["name"] == "Shop"
        first = http.get("/v1/workflows/apps/shop/functions", params={"limit": 2}).json()
        rest = http.get("/v1/workflows/apps/shop/functions", params={"cursor": first["nextCursor"]}).json()
        assert first["hasMore"] and rest["nextCursor"] is None
        triggers = {f["id"]: f["triggers"][0]["value"] for f in first["functions"] + rest["functions"]}
        assert triggers["process-order"] == "shop/order.created" and len(triggers) == 3
        function = http.get("/v1/workflows/apps/shop/functions/process-order").json()
        assert function["app"] == {"id": "shop"} and function["configuration"]["retries"]["value"] == 4

        # invoke with an idempotency key; the same key again is Inngest's 409 carrying the first run id
        invoke = "/v1/workflows/apps/shop/functions/process-order/invoke"
        body = {"idempotencyKey": "rest-order-1", "data": {"orderId": "o-1"}}
        started = http.post(invoke, json=body)
        assert started.status_code == 200, started.text
        run_id = started.json()["runId"]
        again = http.post(invoke, json=body)
        assert again.status_code == 409 and again.json()["upstreamBody"]["data"]["runId"] == run_id

        # watch the run to completion, then read its trace
        run = poll(
            lambda: http.get(f"/v1/workflows/runs/{run_id}").json(), lambda r: r["status"] == "COMPLETED"
        )
        assert run["status"] == "COMPLETED" and run["output"] == {"shipped": True}
        assert run["function"] == {"id": "process-order", "name": "Process order"} and run["endedAt"]
        trace = http.get(f"/v1/workflows/runs/{run_id}/trace").json()
        assert trace["runId"] == run_id and trace["rootSpan"]["status"] == "COMPLETED"
        steps = trace["rootSpan"]["children"]
        assert [(s["stepId"], s["status"], s["output"]) for s in steps] == [
            ("charge", "COMPLETED", {"charged": True}),
            ("ship", "COMPLETED", {"shipped": True}),
        ]

        # rerun from the second step: a new run, the first step memoized
        rerun = http.post(f"/v1/workflows/runs/{run_id}/rerun", json={"fromStep": "ship"})
        assert rerun.status_code == 200, rerun.text
        rerun_id = rerun.json()["runId"]
        assert rerun_id != run_id
        rerun_run = poll(
            lambda: http.get(f"/v1/workflows/runs/{rerun_id}").json(), lambda r: r["status"] == "COMPLETED"
        )
        assert rerun_run["status"] == "COMPLETED" and int(rerun_run["durationMs"]) < 500
        whole = http.post(f"/v1/workflows/runs/{run_id}/rerun")
        assert whole.status_code == 200 and whole.json()["runId"] not in (run_id, rerun_id)

        # events: an id is the dedup key, a resent event starts no second run
        runs_path = "/v1/workflows/apps/shop/functions/sync-inventory/runs"
        since = http.get(runs_path).json()["fetchedAt"]
        sent = http.post(
            "/v1/workflows/events/batch",
            json=[
                {"name": "shop/inventory.changed", "id": f"rest-inv-{n}", "data": {"sku": n}}
                for n in range(5)
            ],
        )
        assert sent.status_code == 200 and len(sent.json()["eventIds"]) == 5
        resent = http.post(
            "/v1/workflows/events", json={"name": "shop/inventory.changed", "id": "rest-inv-0"}
        )
        (resent_id,) = resent.json()["eventIds"]
        first_event = sent.json()["eventIds"][0]
        assert (
            len(poll(lambda: http.get(f"/v1/workflows/events/{first_event}/runs").json()["runs"], bool)) == 1
        )
        assert http.get(f"/v1/workflows/events/{resent_id}/runs").json()["runs"] == []

        # bulk-cancel what is running, as seen by the list
        running = poll(
            lambda: http.get(runs_path, params={"status": "RUNNING", "from": since}).json(),
            lambda page: len(page["runs"]) == 5,
        )
        assert len(running["runs"]) == 5
        cancel = http.post(
            "/v1/workflows/apps/shop/functions/sync-inventory/cancellations",
            json={"startedBefore": running["fetchedAt"]},
        )
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["functionId"] == "shop-sync-inventory"
        left = http.get(runs_path, params={"status": ["QUEUED", "RUNNING"], "from": since}).json()
        assert left["runs"] == []

        # page through the cancelled runs with a cursor until the last page
        seen: list[str] = []
        params: dict[str, Any] = {"status": "CANCELLED", "from": since, "limit": 2}
        pages = 0
        while True:
            page = http.get(runs_path, params=params).json()
            pages += 1
            seen += [r["id"] for r in page["runs"]]
            assert all(r["status"] == "CANCELLED" for r in page["runs"])
            if page["nextCursor"] is None:
                break
            assert page["hasMore"] is True
            params["cursor"] = page["nextCursor"]
        assert pages == 3 and len(set(seen)) == 5
        listed = http.get(
            "/v1/workflows/runs", params={"status": "CANCELLED", "appId": "shop", "from": since}
        )
        assert sorted(r["id"] for r in listed.json()["runs"]) == sorted(seen)


def test_rest_error_cases(workflow: dict[str, str]) -> None:
    with httpx.Client(base_url=workflow["rest"], timeout=10) as http:
        missing = http.get("/v1/workflows/runs/01J0000000000000000000000Z")
        assert (
            missing.status_code == 404 and missing.json()["upstreamBody"]["errors"][0]["code"] == "not_found"
        )
        assert http.get("/v1/workflows/runs/not-a-ulid").status_code == 400
        assert http.get("/v1/workflows/apps/nope").status_code == 404
        unknown_fn = http.post("/v1/workflows/apps/shop/functions/nope/invoke", json={"idempotencyKey": "k"})
        assert (
            unknown_fn.status_code == 404
            and unknown_fn.json()["upstreamBody"]["errors"][0]["message"] == "Function not found"
        )
        # what the function declares required is required over REST too: no run starts without its key
        no_key = http.post("/v1/workflows/apps/shop/functions/welcome/invoke", json={"data": {}})
        assert no_key.status_code == 400 and no_key.json()["parameter"] == "idempotencyKey"
        assert (no_key.json()["in"], no_key.json()["jsonPath"]) == ("body", "$.idempotencyKey")
        no_id = http.post("/v1/workflows/events", json={"name": "shop/user.signup"})
        assert no_id.status_code == 400 and no_id.json()["parameter"] == "id"
        bad_status = http.get("/v1/workflows/runs", params={"status": "SLEEPING"})
        assert (
            bad_status.status_code == 400
            and bad_status.json()["upstreamBody"]["errors"][0]["message"] == "Status is invalid"
        )

        sent = http.post("/v1/workflows/events", json={"name": "shop/user.signup", "id": "rest-signup-1"})
        runs = poll(
            lambda: http.get(f"/v1/workflows/events/{sent.json()['eventIds'][0]}/runs").json()["runs"], bool
        )
        run_id = runs[0]["id"]
        poll(lambda: http.get(f"/v1/workflows/runs/{run_id}").json()["status"], lambda s: s == "COMPLETED")
        ended = http.post(f"/v1/workflows/runs/{run_id}/cancel")
        assert ended.status_code == 409
        assert ended.json()["upstreamBody"]["errors"][0]["code"] == "run_already_ended"
        not_reached = http.post(f"/v1/workflows/runs/{run_id}/rerun", json={"fromStep": "nope"})
        assert not_reached.status_code == 400
        assert not_reached.json()["upstreamBody"]["errors"][0]["message"] == "Step not found in original run"
        future = http.post(
            "/v1/workflows/apps/shop/functions/welcome/cancellations",
            json={"startedBefore": "2999-01-01T00:00:00Z"},
        )
        assert future.status_code == 400
        assert future.json()["upstreamBody"]["error"] == "started_before must be in the past"

        no_name = http.post("/v1/workflows/events", json={"id": "x", "data": {}})
        assert no_name.status_code == 400 and no_name.json()["parameter"] == "name"
        assert (no_name.json()["in"], no_name.json()["jsonPath"]) == ("body", "$.name")


def test_rest_bad_event_key(standin: str) -> None:
    env = {"INNGEST_EVENT_KEY": "not-the-key", "INNGEST_SIGNING_KEY": SIGNING_KEY}
    proc, urls = serve(CAPABILITY, {"inngest-events": standin, "inngest-api": standin}, env)
    try:
        r = httpx.post(
            urls["workflows-rest"].rstrip("/") + "/v1/workflows/events", json={"name": "shop/x", "id": "1"}
        )
        # the upstream refused this server's key: not the caller's fault, so a 502 keeping what it said
        assert r.status_code == 502 and r.json()["upstreamStatus"] == 401
        assert r.json()["upstreamBody"]["error"] == "Event key not found"
        assert "not-the-key" not in r.text
    finally:
        proc.stop()
    assert "not-the-key" not in "\n".join(proc.lines)


# --- MCP ----------------------------------------------------------------------------------------------


async def _until(call: Any, done: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await call()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def _mcp_lifecycle(url: str) -> None:
    async with Client(url) as client:
        instructions = client.instructions or ""
        assert "list-apps" in instructions and "Destructive" in instructions
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.annotations is not None and tool.output_schema is not None, tool.name
        destructive = {n for n, t in tools.items() if t.annotations and t.annotations.destructive_hint}
        assert destructive == {"cancel-run", "cancel-function-runs"}
        assert tools["list-runs"].output_schema["properties"]["runs"]["type"] == "array"  # type: ignore[index]

        async def call(tool: str, **args: Any) -> Any:
            result = await client.call_tool(tool, args)
            assert not result.is_error, (tool, result.content)
            return result.structured_content

        # discover
        (app,) = (await call("list-apps"))["apps"]
        functions = (await call("list-functions", appId=app["id"]))["functions"]
        assert {f["id"] for f in functions} == {"process-order", "sync-inventory", "welcome"}
        fn = await call("get-function", appId="shop", functionId="process-order")
        assert fn["triggers"] == [{"type": "EVENT", "value": "shop/order.created", "condition": None}]

        # invoke twice with one key: the second is Inngest's 409, carrying the first run id
        args = {
            "appId": "shop",
            "functionId": "process-order",
            "idempotencyKey": "mcp-order-1",
            "data": {"n": 1},
        }
        run_id = (await call("invoke-function", **args))["runId"]
        again = await client.call_tool("invoke-function", args)
        text = again.content[0].text  # type: ignore[union-attr]
        assert again.is_error and "409" in text and run_id in text

        # watch it complete, read the trace, rerun from a step
        run = await _until(lambda: call("get-run", runId=run_id), lambda r: r["status"] == "COMPLETED")
        assert run["status"] == "COMPLETED" and run["output"] == {"shipped": True}
        trace = await call("get-run-trace", runId=run_id)
        step_ids = [s["stepId"] for s in trace["rootSpan"]["children"]]
        assert step_ids == ["charge", "ship"]
        rerun_id = (await call("rerun-run", runId=run_id, fromStep=step_ids[1]))["runId"]
        rerun = await _until(lambda: call("get-run", runId=rerun_id), lambda r: r["status"] == "COMPLETED")
        assert rerun["status"] == "COMPLETED"
        assert (await call("rerun-run", runId=run_id))["runId"] not in (run_id, rerun_id)

        # start runs by event, bulk-cancel the running ones, page through them
        since = (await call("list-function-runs", appId="shop", functionId="sync-inventory"))["fetchedAt"]
        events = [{"name": "shop/inventory.changed", "id": f"mcp-inv-{n}"} for n in range(3)]
        sent = await call("send-events", events=events)
        assert len(sent["eventIds"]) == 3
        one = await call("send-event", name="shop/inventory.changed", id="mcp-inv-3", data={"sku": 3})
        runs = await _until(lambda: call("list-event-runs", eventId=one["eventIds"][0]), lambda p: p["runs"])
        assert len(runs["runs"]) == 1
        filters = {"appId": "shop", "functionId": "sync-inventory", "from": since}
        running = await _until(
            lambda: call("list-function-runs", status=["RUNNING"], **filters), lambda p: len(p["runs"]) == 4
        )
        assert len(running["runs"]) == 4
        cancelled = await call(
            "cancel-function-runs",
            appId="shop",
            functionId="sync-inventory",
            startedBefore=running["fetchedAt"],
        )
        assert cancelled["startedBefore"] == running["fetchedAt"]
        seen: list[str] = []
        cursor = None
        while True:
            page = await call(
                "list-runs",
                status=["CANCELLED"],
                limit=3,
                **filters,
                **({"cursor": cursor} if cursor else {}),
            )
            seen += [r["id"] for r in page["runs"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(r["id"] for r in running["runs"])

        # errors an agent can act on
        ended = await client.call_tool("cancel-run", {"runId": run_id})
        assert ended.is_error and "run_already_ended" in ended.content[0].text  # type: ignore[union-attr]
        unknown = await client.call_tool("get-run", {"runId": "01J0000000000000000000000Z"})
        assert unknown.is_error and "404" in unknown.content[0].text  # type: ignore[union-attr]
        no_arg = await client.call_tool("get-run", {})
        assert no_arg.is_error and "runId" in no_arg.content[0].text  # type: ignore[union-attr]
        no_id = await client.call_tool("send-event", {"name": "shop/user.signup"})
        assert no_id.is_error and "'id'" in no_id.content[0].text  # type: ignore[union-attr]


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
            assert functions.status_code == 404 and functions.json()["upstreamBody"] == "404 page not found"
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
