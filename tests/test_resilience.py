"""Fault injection: the durable-workflow capability served over real HTTP in front of the Inngest stand-in,
whose fault rules make the upstream slow, failing, rate-limited, rude or wrong.

Each test asserts what the caller got, how many attempts reached the upstream (the stand-in's journal),
and that the server answers normally once the fault is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from naftiko_inngest_dev import DevConfig, create_app
from naftiko_runtime.binds import resolve_binds
from naftiko_runtime.cli import main
from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.consumes.policies import PolicySettings, flag_settings, load_settings, read_entry
from naftiko_runtime.engine import Runtime
from naftiko_runtime.errors import ConfigError
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file, load_text

from .conftest import serve_app
from .support import ROOT, run_asgi

EVENT_KEY = "evt-key+with=odd&chars"
SIGNING_KEY = "signkey-test-00112233445566778899aabbccddeeff"
ENV = {"INNGEST_EVENT_KEY": EVENT_KEY, "INNGEST_SIGNING_KEY": SIGNING_KEY}
APPS = [
    {
        "id": "shop",
        "name": "Shop",
        "functions": [
            {
                "id": "process-order",
                "name": "Process order",
                "triggers": [{"event": "shop/order.created"}],
                "steps": [{"id": "charge", "name": "Charge", "duration_ms": 200}],
            }
        ],
    }
]
FAST = {"backoff": 0.01, "maxBackoff": 0.05, "readTimeout": 0.5, "totalTimeout": 3, "failures": 0}


def settings(**namespaces: dict[str, Any]) -> PolicySettings:
    entries = {"*": read_entry(FAST, "test")}
    entries.update({ns.replace("_", "-"): read_entry(v, "test") for ns, v in namespaces.items()})
    return PolicySettings(entries)


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    config = DevConfig.from_mapping(
        {"event_keys": [EVENT_KEY], "signing_keys": [SIGNING_KEY], "time_scale": 0, "apps": APPS}
    )
    with run_asgi(create_app(config)) as url:
        yield url


@pytest.fixture()
def stub(standin: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin, timeout=10, trust_env=False) as c:
        c.post("/_stub/reset")
        yield c
        c.delete("/_stub/faults")


def document() -> m.NaftikoDocument:
    return load_file(ROOT / "capabilities" / "durable-workflow.yaml").require()


@contextlib.contextmanager
def serve(standin: str, policies: PolicySettings, kind: str = "rest") -> Iterator[str]:
    """The capability's adapter of ``kind``, built by the server's composition root, in front of the stand-in."""
    doc = document()
    cap = capability(doc.file, doc, ENV, {"inngest-events": standin, "inngest-api": standin})
    runtime = build_runtime(cap, Timeouts(connect=1, total=3), policies)
    adapter = next(a for a in cap.exposes if a.type == kind)
    assert isinstance(adapter, m.ExposesRest | m.ExposesMcp)
    with serve_app(build_app(adapter, runtime, host="127.0.0.1", port=0), runtime) as url:
        yield url


@pytest.fixture()
def api(standin: str) -> Iterator[httpx.Client]:
    with serve(standin, settings()) as url, httpx.Client(base_url=url, timeout=15) as client:
        yield client


def fault(stub: httpx.Client, **rule: Any) -> None:
    assert stub.post("/_stub/faults", json=rule).status_code == 200


def attempts(stub: httpx.Client, method: str, path: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = stub.get(
        "/_stub/requests", params={"method": method, "path": path}
    ).json()["requests"]
    return entries


def healthy(api: httpx.Client, stub: httpx.Client) -> None:
    stub.delete("/_stub/faults")
    response = api.get("/v1/workflows/apps")
    assert response.status_code == 200, response.text
    assert response.json()["apps"][0]["id"] == "shop"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert SIGNING_KEY not in response.text and "Traceback" not in response.text
    return body


# --- retries ---------------------------------------------------------------------------------------------


def test_a_5xx_burst_on_a_get_is_retried_until_it_succeeds(api: httpx.Client, stub: httpx.Client) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="status", status=503, times=2)
    response = api.get("/v1/workflows/apps")
    assert response.status_code == 200, response.text
    assert [e["status"] for e in attempts(stub, "GET", "^/v2/apps$")] == [503, 503, 200]
    healthy(api, stub)


def test_a_lasting_5xx_gives_up_after_the_attempts_with_a_502(api: httpx.Client, stub: httpx.Client) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="status", status=502)
    body = problem(api.get("/v1/workflows/apps"), 502)
    assert body["upstreamStatus"] == 502 and body["operation"] == "inngest-api.list-apps"
    assert len(attempts(stub, "GET", "^/v2/apps$")) == 3
    healthy(api, stub)


def test_429_retry_after_is_waited_out_when_short(api: httpx.Client, stub: httpx.Client) -> None:
    fault(
        stub,
        method="GET",
        path="^/v2/apps$",
        action="status",
        status=429,
        headers={"Retry-After": "1"},
        times=1,
    )
    started = time.monotonic()
    assert api.get("/v1/workflows/apps").status_code == 200
    assert time.monotonic() - started >= 1.0
    assert [e["status"] for e in attempts(stub, "GET", "^/v2/apps$")] == [429, 200]
    healthy(api, stub)


def test_a_long_retry_after_reaches_the_caller_instead(api: httpx.Client, stub: httpx.Client) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="status", status=429, headers={"Retry-After": "30"})
    response = api.get("/v1/workflows/apps")
    assert response.status_code == 429 and response.headers["retry-after"] == "30"
    assert len(attempts(stub, "GET", "^/v2/apps$")) == 1
    fault(stub, method="GET", path="^/v2/runs$", action="status", status=503, headers={"Retry-After": "20"})
    body = problem(api.get("/v1/workflows/runs"), 502)
    assert response.headers["retry-after"] == "30"
    assert body["retryAfter"] == 20 and body["upstreamStatus"] == 503
    healthy(api, stub)


def test_latency_beyond_the_read_timeout_is_retried_then_504(api: httpx.Client, stub: httpx.Client) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="delay", ms=1500, times=1)
    assert api.get("/v1/workflows/apps").status_code == 200
    assert len(attempts(stub, "GET", "^/v2/apps$")) == 2
    stub.delete("/_stub/requests")
    fault(stub, method="GET", path="^/v2/runs$", action="delay", ms=1500)
    body = problem(api.get("/v1/workflows/runs"), 504)
    assert "sent nothing for 0.5 s" in body["detail"]
    assert len(attempts(stub, "GET", "^/v2/runs$")) == 3
    healthy(api, stub)


def test_a_hung_connection_times_out_and_the_server_stays_healthy(
    api: httpx.Client, stub: httpx.Client
) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="hang")
    started = time.monotonic()
    problem(api.get("/v1/workflows/apps"), 504)
    assert time.monotonic() - started < 3.5  # the call's total budget, retries included
    healthy(api, stub)


def test_a_dropped_connection_is_retried_for_a_get_only(api: httpx.Client, stub: httpx.Client) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="reset", times=1)
    assert api.get("/v1/workflows/apps").status_code == 200
    assert len(attempts(stub, "GET", "^/v2/apps$")) == 2
    fault(stub, method="POST", path="/cancel$", action="reset")
    body = problem(api.post("/v1/workflows/runs/01ABC/cancel"), 502)
    assert "closed the connection" in body["detail"]
    assert len(attempts(stub, "POST", "/cancel$")) == 1  # not safe to repeat: never retried
    healthy(api, stub)


def test_slow_bodies_within_the_read_timeout_arrive_slower_ones_time_out(
    api: httpx.Client, stub: httpx.Client
) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="slow", ms=20, times=1)
    assert api.get("/v1/workflows/apps").json()["apps"][0]["id"] == "shop"
    fault(stub, method="GET", path="^/v2/runs$", action="slow", ms=800)
    assert "sent nothing" in problem(api.get("/v1/workflows/runs"), 504)["detail"]
    healthy(api, stub)


def test_a_truncated_body_is_retried_then_502(api: httpx.Client, stub: httpx.Client) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="truncate", times=1)
    assert api.get("/v1/workflows/apps").status_code == 200
    assert len(attempts(stub, "GET", "^/v2/apps$")) == 2
    fault(stub, method="GET", path="^/v2/runs$", action="truncate")
    assert "incomplete" in problem(api.get("/v1/workflows/runs"), 502)["detail"]
    assert len(attempts(stub, "GET", "^/v2/runs$")) == 3
    healthy(api, stub)


def test_invalid_json_is_a_502_where_outputs_shape_it(api: httpx.Client, stub: httpx.Client) -> None:
    fault(
        stub,
        method="GET",
        path="^/v2/runs/",
        action="status",
        status=200,
        body="{oops",
        content_type="application/json",
    )
    body = problem(api.get("/v1/workflows/runs/01ABC"), 502)
    assert body["title"] == "Unexpected upstream payload" and "not JSON" in body["detail"]
    assert len(attempts(stub, "GET", "^/v2/runs/")) == 1
    healthy(api, stub)


PASSTHROUGH = """\
naftiko: 1.0.0-alpha2
info: {label: Pass-through, description: Routes that pass the upstream body through unparsed}
capability:
  consumes:
  - type: http
    namespace: raw
    baseUri: http://upstream.invalid
    resources:
    - name: run
      path: /v2/runs/{runId}
      operations: [{name: get-run, method: GET}]
  exposes:
  - type: rest
    namespace: raw-rest
    port: 8080
    resources:
    - path: /runs/{runId}
      operations: [{method: GET, call: raw.get-run}]
    - path: /proxy/{{path}}
      forward: {targetNamespace: raw, trustedHeaders: [Authorization]}
"""


def test_invalid_json_is_a_502_on_pass_through_routes_too(standin: str, stub: httpx.Client) -> None:
    doc = load_text(PASSTHROUGH, "passthrough.yaml").require()
    cap = capability(doc.file, doc, {}, {"raw": standin})
    runtime = build_runtime(cap, Timeouts(connect=1, total=3), settings())
    adapter = next(a for a in cap.exposes if isinstance(a, m.ExposesRest))
    app = build_app(adapter, runtime, host="127.0.0.1", port=0)
    with serve_app(app, runtime) as url, httpx.Client(base_url=url, timeout=15) as client:
        fault(
            stub,
            method="GET",
            path="^/v2/runs/",
            action="status",
            status=200,
            body="{oops",
            content_type="application/json",
        )
        for path in ("/runs/01ABC", "/proxy/v2/runs/01ABC"):
            body = problem(client.get(path), 502)
            assert body["title"] == "Unexpected upstream payload" and "not JSON" in body["detail"], path
        stub.delete("/_stub/faults")
        auth = {"Authorization": f"Bearer {SIGNING_KEY}"}
        assert client.get("/proxy/v2/apps", headers=auth).json()["data"][0]["id"] == "shop"


# --- triggers ---------------------------------------------------------------------------------------------


def runs(stub: httpx.Client) -> list[dict[str, Any]]:
    listed = stub.get("/v2/runs", headers={"Authorization": f"Bearer {SIGNING_KEY}"})
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


def test_a_trigger_whose_reply_was_lost_is_retried_with_the_same_event_id(
    standin: str, stub: httpx.Client
) -> None:
    keyed = settings(inngest_events={"idempotencyKey": "id"})
    with serve(standin, keyed) as url, httpx.Client(base_url=url, timeout=15) as api:
        fault(stub, method="POST", path="^/e/", action="reset", phase="after", times=1)
        event = {"name": "shop/order.created", "data": {"order": 1}}
        response = api.post("/v1/workflows/events/batch", json=[event])
        assert response.status_code == 200, response.text
        sent = attempts(stub, "POST", "^/e/")
        assert len(sent) == 2
        ids = {e["json"][0]["id"] for e in sent}
        assert len(ids) == 1 and ids != {None}  # the same generated id both times
        assert response.headers["idempotency-key"] == ids.pop()  # and the caller learns it
        assert len(runs(stub)) == 1  # the upstream deduplicated: one run
        # a batch: every event gets its own id
        stub.delete("/_stub/requests")
        assert (
            api.post("/v1/workflows/events/batch", json=[event, {**event, "id": "mine"}]).status_code == 200
        )
        batch = attempts(stub, "POST", "^/e/")[0]["json"]
        assert batch[1]["id"] == "mine" and batch[0]["id"] not in (None, "", "mine")
        # the caller's own Idempotency-Key is the base: its retry repeats the same event ids
        stub.delete("/_stub/requests")
        for _ in range(2):
            sent_again = api.post(
                "/v1/workflows/events/batch", json=[event, event], headers={"Idempotency-Key": "order-1"}
            )
            assert sent_again.headers["idempotency-key"] == "order-1-0, order-1-1"
        assert [e["json"][1]["id"] for e in attempts(stub, "POST", "^/e/")] == ["order-1-1", "order-1-1"]
        assert (
            len(runs(stub)) == 5
        )  # one per distinct event id: 1, then 2 (batch), then 2 (keyed, sent twice)
        healthy(api, stub)


def test_a_trigger_without_an_idempotency_key_is_sent_exactly_once(
    api: httpx.Client, stub: httpx.Client
) -> None:
    fault(stub, method="POST", path="^/e/", action="reset", phase="after", times=1)
    problem(api.post("/v1/workflows/events/batch", json=[{"name": "shop/order.created"}]), 502)
    assert len(attempts(stub, "POST", "^/e/")) == 1
    assert len(runs(stub)) == 1
    healthy(api, stub)


# --- circuit breaker and concurrency limit ----------------------------------------------------------------


def test_the_circuit_opens_after_repeated_failures_then_a_probe_closes_it(
    standin: str, stub: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="naftiko.upstream")
    breaker = settings(inngest_api={"failures": 2, "cooldown": 1, "attempts": 1})
    with serve(standin, breaker) as url, httpx.Client(base_url=url, timeout=15) as api:
        fault(stub, method="GET", path="^/v2/apps$", action="status", status=503)
        for _ in range(2):
            problem(api.get("/v1/workflows/apps"), 502)
        opened = api.get("/v1/workflows/apps")
        body = problem(opened, 503)
        assert body["title"] == "Upstream circuit open" and opened.headers["retry-after"] == "1"
        assert len(attempts(stub, "GET", "^/v2/apps$")) == 2  # the third call never left
        stub.delete("/_stub/faults")
        time.sleep(1.1)
        assert api.get("/v1/workflows/apps").status_code == 200  # the probe
        assert api.get("/v1/workflows/apps").status_code == 200
    states = [r.getMessage().split()[1] for r in caplog.records if r.getMessage().startswith("circuit ")]
    assert states == ["open", "half-open", "closed"]


def test_the_upstream_limit_queues_briefly_then_sheds_with_503(standin: str, stub: httpx.Client) -> None:
    limited = settings(inngest_api={"limit": 1, "queue": 0.2, "attempts": 1, "readTimeout": 3})
    with serve(standin, limited) as url:
        fault(stub, method="GET", path="^/v2/apps$", action="delay", ms=1000, times=1)

        async def both() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=15) as client:
                first = asyncio.ensure_future(client.get("/v1/workflows/apps"))
                await asyncio.sleep(0.3)
                second = await client.get("/v1/workflows/runs")
                return [await first, second]

        slow, shed = asyncio.run(both())
    assert slow.status_code == 200
    body = problem(shed, 503)
    assert (
        body["title"] == "Server busy"
        and "waited 0.2" in body["detail"]
        and shed.headers["retry-after"] == "1"
    )
    assert attempts(stub, "GET", "^/v2/runs$") == []  # shed before it was sent


# --- MCP -------------------------------------------------------------------------------------------------


def test_mcp_callers_get_the_retry_after_in_the_error_result(standin: str, stub: httpx.Client) -> None:
    fault(stub, method="GET", path="^/v2/apps$", action="status", status=429, headers={"Retry-After": "40"})

    async def call() -> Any:
        with serve(standin, settings(), "mcp") as url:
            async with Client(url + "/mcp") as client:
                return await client.call_tool("list-apps", {})

    result = asyncio.run(call())
    assert result.is_error
    assert "returned HTTP 429" in result.content[0].text and "retry after 40 s" in result.content[0].text


# --- settings -------------------------------------------------------------------------------------------


def test_the_runtime_config_file_sets_policies_by_namespace(tmp_path: Path) -> None:
    file = tmp_path / "upstreams.yaml"
    file.write_text(
        "upstreams:\n"
        "  '*': {attempts: 2, totalTimeout: 9}\n"
        "  inngest-events: {idempotencyKey: id, limit: 8, readTimeout: 2}\n",
        encoding="utf-8",
    )
    loaded = load_settings(file)
    flags = flag_settings("--upstream-limit", "limit", ["inngest-events=4", "*=50"])
    doc = document()
    runtime = Runtime(doc, resolve_binds(doc, ENV), policies=flags.over(loaded))
    events, api = runtime.consumers["inngest-events"].policy, runtime.consumers["inngest-api"].policy
    assert (events.attempts, events.limit, events.idempotency_key) == (2, 4, "id")
    assert (events.timeouts.total, events.timeouts.read) == (9, 2)
    assert (api.attempts, api.limit, api.idempotency_key, api.timeouts.read) == (2, 50, None, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("upstreams: {api: {atempts: 2}}", "upstreams.api.atempts: unknown setting"),
        ("upstreams: {api: {attempts: 0}}", "upstreams.api.attempts: must be at least 1"),
        ("upstreams: {api: {totalTimeout: fast}}", "upstreams.api.totalTimeout: must be a number"),
        ("retries: 3", "expected a mapping with one key, 'upstreams'"),
        ("upstreams: [", "not valid YAML"),
    ],
)
def test_mistakes_in_the_runtime_config_file_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(file)
    assert str(info.value).startswith(str(file)) and message in str(info.value)


def test_serve_refuses_settings_for_a_namespace_nobody_consumes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    root, naftiko = logging.getLogger(), logging.getLogger("naftiko")
    # serve installs its own stderr handler: put the test's logging back afterwards
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(naftiko, "level", naftiko.level)
    capability = str(ROOT / "capabilities" / "durable-workflow.yaml")
    ports = ["--port", "workflows-rest=0", "--port", "workflows-mcp=0"]
    assert main(["serve", capability, *ports, "--upstream-limit", "nobody=3"]) == 2
    assert "upstream settings: no capability consumes namespace 'nobody'" in capsys.readouterr().err
    assert main(["serve", capability, *ports, "--upstream-attempts", "inngest-api=none"]) == 2
    assert "--upstream-attempts inngest-api.attempts: must be a whole number" in capsys.readouterr().err
