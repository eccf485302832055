"""The local Inngest stand-in, over real HTTP (uvicorn on ephemeral ports, httpx clients)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from naftiko_inngest_dev import DevConfig, create_app
from naftiko_inngest_dev.__main__ import build_parser, load_config, main
from naftiko_inngest_dev.config import ConfigError
from naftiko_inngest_dev.ids import encode_ulid, is_ulid
from tests.support import ROOT, run_asgi

HEX_KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
SIGNING_KEY = f"signkey-test-{HEX_KEY}"
HASHED = hashlib.sha256(bytes.fromhex(HEX_KEY)).hexdigest()
FALLBACK_KEY = "signkey-prod-" + "ff" * 32
API_KEY = "sk-inn-api-s3cr3t"
EVENT_KEY = "evt-key-123"

APPS: list[dict[str, Any]] = [
    {
        "id": "shop",
        "name": "Shop",
        "functions": [
            {
                "id": "welcome",
                "name": "Welcome",
                "triggers": [{"event": "shop/user.signup"}],
                "steps": [
                    {"id": "load", "name": "Load user", "duration_ms": 1000, "output": {"n": 1}},
                    {"id": "send", "name": "Send email", "duration_ms": 1000},
                ],
                "output": "sent",
            },
            {
                "id": "order",
                "name": "Order",
                "triggers": [{"event": "shop/order.created"}],
                "retries": 2,
                "steps": [
                    {"id": "charge", "name": "Charge", "duration_ms": 5000},
                    {"id": "wait", "name": "Wait", "op": "SLEEP", "duration_ms": 55000},
                ],
                "output": {"ok": True},
            },
            {
                "id": "boom",
                "name": "Boom",
                "triggers": ["shop/fail"],
                "steps": [
                    {"id": "a", "duration_ms": 100},
                    {"id": "b", "duration_ms": 100, "fail": "kaput"},
                ],
            },
            {
                "id": "vip",
                "name": "VIP",
                "triggers": [{"event": "shop/vip", "if": "event.data.tier == 'gold'"}],
                "steps": [{"id": "greet", "duration_ms": 10}],
            },
            {"id": "nightly", "name": "Nightly", "triggers": [{"cron": "0 3 * * *"}]},
        ],
    },
    {
        "id": "audit",
        "name": "Audit",
        "functions": [
            {
                "id": "record",
                "name": "Record",
                "triggers": [{"event": "audit/*"}],
                "steps": [{"id": "write", "duration_ms": 10}],
            }
        ],
    },
]


def _config(**overrides: Any) -> DevConfig:
    return DevConfig.from_mapping({"time_scale": 0, "apps": APPS, **overrides})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with run_asgi(create_app(_config())) as url:
        yield url


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5.0, trust_env=False) as c:
        assert c.post("/_stub/reset").status_code == 200
        yield c


@pytest.fixture(scope="module")
def secured_url() -> Iterator[str]:
    config = _config(event_keys=[EVENT_KEY], signing_keys=[SIGNING_KEY, FALLBACK_KEY], api_keys=[API_KEY])
    with run_asgi(create_app(config)) as url:
        yield url


@pytest.fixture()
def secured(secured_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=secured_url, timeout=5.0, trust_env=False) as c:
        c.post("/_stub/reset")
        yield c


def send(c: httpx.Client, payload: Any, key: str = "any-key", **headers: str) -> list[str]:
    r = c.post(f"/e/{key}", json=payload, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == 200 and "error" not in body
    ids: list[str] = body["ids"]
    return ids


def advance(c: httpx.Client, ms: int) -> None:
    assert c.post("/_stub/clock/advance", json={"ms": ms}).status_code == 200


def runs_of(c: httpx.Client, event_id: str) -> list[dict[str, Any]]:
    r = c.get(f"/v2/events/{event_id}/runs")
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def only_run(c: httpx.Client, event_id: str) -> str:
    runs = runs_of(c, event_id)
    assert len(runs) == 1, runs
    run_id: str = runs[0]["id"]
    return run_id


def v2_run(c: httpx.Client, run_id: str, **params: str) -> dict[str, Any]:
    r = c.get(f"/v2/runs/{run_id}", params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


# -- Event API --------------------------------------------------------------------------------------------


def test_health_and_server_kind(client: httpx.Client) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": 200, "message": "OK"}
    assert r.headers["x-inngest-server-kind"] == "dev"


def test_send_single_event_returns_ulid_internal_ids(client: httpx.Client) -> None:
    r = client.post(
        "/e/NO_EVENT_KEY_SET", json={"name": "shop/user.signup", "data": {"email": "a@example.com"}}
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"ids", "status"} and body["status"] == 200
    (event_id,) = body["ids"]
    assert is_ulid(event_id)
    event = client.get(f"/v1/events/{event_id}").json()
    assert event["data"]["internal_id"] == event_id
    assert event["data"]["name"] == "shop/user.signup"
    assert event["data"]["data"] == {"email": "a@example.com"}
    assert event["data"]["id"] == event_id  # no user id: defaults to the internal id, as in OSS
    assert "fetched_at" in event["metadata"] and "cached_until" in event["metadata"]


def test_send_batch_ids_resolve_runs_in_v1_and_v2(client: httpx.Client) -> None:
    signup, order, nothing = send(
        client, [{"name": "shop/user.signup"}, {"name": "shop/order.created"}, {"name": "no/listener"}]
    )
    v1 = client.get(f"/v1/events/{order}/runs")
    assert v1.status_code == 200
    assert v1.headers["cache-control"] == "private, max-age=15"
    (v1_run,) = v1.json()["data"]
    assert v1_run["event_id"] == order and v1_run["status"] == "Running" and v1_run["ended_at"] is None

    v2 = client.get(f"/v2/events/{order}/runs").json()
    (run,) = v2["data"]
    assert run["id"] == v1_run["run_id"]
    assert run["function"] == {"id": "order", "name": "Order", "slug": "shop-order"}
    assert run["app"] == {"id": "shop"}
    assert run["trigger"] == {"eventIds": [order], "eventName": "shop/order.created"}
    assert run["status"] == "RUNNING"
    assert "endedAt" not in run and "durationMs" not in run and "output" not in run
    assert v2["page"] == {"limit": 20} and "fetchedAt" in v2["metadata"]

    assert len(runs_of(client, signup)) == 1
    assert runs_of(client, nothing) == []
    listed = client.get("/v1/events").json()["data"]
    assert {e["internal_id"] for e in listed} == {signup, order, nothing}
    assert [e["name"] for e in client.get("/v1/events", params={"name": "no/listener"}).json()["data"]] == [
        "no/listener"
    ]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"data": {}}, "event name is empty"),
        (
            {"name": "inngest/function.finished"},
            "event name is reserved for internal use: inngest/function.finished",
        ),
        ({"name": "a/b", "ts": 1000}, "timestamp is before Jan 1, 1980"),
        ({"name": "a/b", "ts": 4_200_000_000_000}, "timestamp is after Jan 1, 2100"),
        ("just a string", "Request body must contain an event object or an array of event objects"),
    ],
)
def test_invalid_events_are_400(client: httpx.Client, payload: Any, error: str) -> None:
    r = client.post("/e/k", json=payload)
    assert r.status_code == 400
    assert r.json() == {"ids": [""], "status": 400, "error": error}


def test_batch_with_an_invalid_event_returns_the_processed_prefix(client: httpx.Client) -> None:
    r = client.post("/e/k", json=[{"name": "shop/user.signup"}, {"name": ""}])
    assert r.status_code == 400
    body = r.json()
    assert len(body["ids"]) == 1 and is_ulid(body["ids"][0]) and body["error"] == "event name is empty"
    assert len(runs_of(client, body["ids"][0])) == 1  # the first event was accepted, as in OSS


def test_malformed_json_too_many_events_and_body_cap(client: httpx.Client) -> None:
    r = client.post("/e/k", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["status"] == 400
    r = client.post("/e/k", json=[{"name": "x/y"}] * 5001)
    assert r.status_code == 400 and "5000" in r.json()["error"]
    r = client.post("/e/k", json={"name": "x/y", "data": {"blob": "x" * (513 * 1024)}})
    assert r.status_code == 413 and r.json()["status"] == 413
    assert client.get("/v1/events").json()["data"] == []


def test_event_id_seed_gives_deterministic_ids_and_a_retry_is_idempotent(client: httpx.Client) -> None:
    entropy = bytes(range(10))
    seed = f"1750000000000,{base64.b64encode(entropy).decode()}"
    expected = [
        encode_ulid(1750000000000, entropy[:6] + (int.from_bytes(entropy[6:], "big") + i).to_bytes(4, "big"))
        for i in (1, 2)
    ]
    batch = [{"name": "shop/user.signup"}, {"name": "shop/order.created"}]
    first = send(client, batch, **{"x-inngest-event-id-seed": seed})
    again = send(client, batch, **{"x-inngest-event-id-seed": seed})
    assert first == again == expected
    assert len(runs_of(client, first[0])) == 1 and len(runs_of(client, first[1])) == 1


def test_user_event_id_deduplicates_runs_but_not_events(client: httpx.Client) -> None:
    a, b = send(
        client, [{"name": "shop/user.signup", "id": "dup-1"}, {"name": "shop/user.signup", "id": "dup-1"}]
    )
    assert a != b
    assert len(runs_of(client, a)) == 1 and runs_of(client, b) == []


def test_wildcard_and_if_condition_triggers(client: httpx.Client) -> None:
    audit, gold, silver = send(
        client,
        [{"name": "audit/login"}, {"name": "shop/vip", "data": {"tier": "gold"}}, {"name": "shop/vip"}],
    )
    assert [r["function"]["id"] for r in runs_of(client, audit)] == ["record"]
    assert len(runs_of(client, gold)) == 1 and runs_of(client, silver) == []


# -- runs over time ----------------------------------------------------------------------------------------


def test_run_lifecycle_summary_and_trace(client: httpx.Client) -> None:
    (event_id,) = send(client, {"name": "shop/user.signup"})
    run_id = only_run(client, event_id)
    run = v2_run(client, run_id, includeOutput="true")
    assert run["status"] == "RUNNING" and "output" not in run
    trace = client.get(f"/v2/runs/{run_id}/trace").json()["data"]
    assert trace["runId"] == run_id
    (step,) = trace["rootSpan"]["children"]
    assert step["status"] == "RUNNING" and step["stepId"] == "load" and step["stepOp"] == "RUN"

    advance(client, 1000)
    trace = client.get(f"/v2/runs/{run_id}/trace").json()["data"]
    assert [s["status"] for s in trace["rootSpan"]["children"]] == ["COMPLETED", "RUNNING"]

    advance(client, 1000)
    run = v2_run(client, run_id)
    assert run["status"] == "COMPLETED" and run["durationMs"] == "2000" and "output" not in run
    assert "slug" not in run["function"] and "eventName" not in run["trigger"]  # GetFunctionRun omits them
    assert v2_run(client, run_id, includeOutput="true")["output"] == {"data": "sent"}  # scalars are wrapped

    trace = client.get(f"/v2/runs/{run_id}/trace", params={"includeOutput": "true"}).json()["data"]
    root = trace["rootSpan"]
    assert root["name"] == "Welcome" and root["status"] == "COMPLETED" and root["durationMs"] == "2000"
    assert root["output"] == {"data": "sent"}
    load, send_step = root["children"]
    assert load == {
        "id": load["id"],
        "name": "Load user",
        "status": "COMPLETED",
        "stepOp": "RUN",
        "stepId": "load",
        "durationMs": "1000",
        "queuedAt": load["queuedAt"],
        "startedAt": load["startedAt"],
        "endedAt": load["endedAt"],
        "output": {"n": 1},
    }
    assert "output" not in send_step and "children" not in send_step

    v1 = client.get(f"/v1/runs/{run_id}")
    assert v1.headers["cache-control"] == "private, max-age=3"
    data = v1.json()["data"]
    assert data["status"] == "Completed" and data["output"] == "sent" and data["ended_at"]
    assert client.get(f"/v1/runs/{run_id}/jobs").json()["data"] == []


def test_failing_run(client: httpx.Client) -> None:
    (event_id,) = send(client, {"name": "shop/fail"})
    run_id = only_run(client, event_id)
    advance(client, 200)
    run = v2_run(client, run_id, includeOutput="true")
    assert run["status"] == "FAILED"
    assert run["output"] == {"error": {"name": "Error", "message": "kaput"}}
    children = client.get(f"/v2/runs/{run_id}/trace").json()["data"]["rootSpan"]["children"]
    assert [c["status"] for c in children] == ["COMPLETED", "FAILED"]
    assert client.get(f"/v1/runs/{run_id}").json()["data"]["status"] == "Failed"


def test_queue_and_run_create_delays() -> None:
    with run_asgi(create_app(_config(run_create_delay_ms=500, queue_delay_ms=1000))) as url:
        with httpx.Client(base_url=url, timeout=5.0, trust_env=False) as c:
            (event_id,) = send(c, {"name": "shop/user.signup"})
            assert runs_of(c, event_id) == []  # runs appear asynchronously
            advance(c, 500)
            run_id = only_run(c, event_id)
            run = v2_run(c, run_id)
            assert run["status"] == "QUEUED" and "startedAt" not in run
            assert c.get(f"/v1/runs/{run_id}").json()["data"]["status"] == "Running"  # no queued value in v1
            assert c.get(f"/v2/runs/{run_id}/trace").json()["data"]["rootSpan"]["status"] == "WAITING"
            advance(c, 1000)
            assert v2_run(c, run_id)["status"] == "RUNNING"


def test_v2_cancel(client: httpx.Client) -> None:
    order_event, signup_event = send(client, [{"name": "shop/order.created"}, {"name": "shop/user.signup"}])
    order_run, signup_run = only_run(client, order_event), only_run(client, signup_event)
    advance(client, 6000)  # order is now sleeping in its second step
    r = client.post(f"/v2/runs/{order_run}/cancel", json={})
    assert r.status_code == 200
    assert r.json()["data"] == {"runId": order_run}
    run = v2_run(client, order_run)
    assert run["status"] == "CANCELLED" and run["durationMs"] == "6000"
    children = client.get(f"/v2/runs/{order_run}/trace").json()["data"]["rootSpan"]["children"]
    assert [c["status"] for c in children] == ["COMPLETED", "CANCELLED"]
    advance(client, 100_000)
    assert v2_run(client, order_run)["status"] == "CANCELLED"

    again = client.post(f"/v2/runs/{order_run}/cancel")
    assert again.status_code == 409
    assert again.json() == {
        "errors": [{"code": "run_already_cancelled", "message": "Run is already cancelled"}]
    }
    ended = client.post(f"/api/v2/runs/{signup_run}/cancel", json={})
    assert ended.status_code == 409
    assert ended.json() == {
        "errors": [{"code": "run_already_ended", "message": "Cannot cancel an ended run"}]
    }


def test_v1_delete_cancels(client: httpx.Client) -> None:
    run_id = only_run(client, send(client, {"name": "shop/order.created"})[0])
    r = client.delete(f"/v1/runs/{run_id}")
    assert r.status_code == 200 and r.content == b""
    assert client.get(f"/v1/runs/{run_id}").json()["data"]["status"] == "Cancelled"
    assert client.delete(f"/v1/runs/{run_id}").status_code == 200  # finished: silent success
    unknown = client.delete("/v1/runs/01J0000000000000000000000Z")
    assert unknown.status_code == 404 and unknown.json()["data"] is None
    assert client.delete("/v1/runs/nope").status_code == 400


def test_unknown_and_invalid_run_ids(client: httpx.Client) -> None:
    unknown = "01J0000000000000000000000Z"
    for path in ("/v2/runs/not-a-ulid", "/v2/runs/not-a-ulid/trace"):
        r = client.get(path)
        assert r.status_code == 400
        assert r.json() == {
            "errors": [{"code": "invalid_field_format", "message": "Run ID must be a valid ULID"}]
        }
    assert client.post("/v2/runs/not-a-ulid/cancel").status_code == 400
    assert client.get(f"/v2/runs/{unknown}").json() == {
        "errors": [{"code": "not_found", "message": "Run not found"}]
    }
    r = client.get(f"/v2/runs/{unknown}/trace")
    assert r.status_code == 404 and r.json()["errors"][0]["message"] == "Trace not found"
    assert client.post(f"/v2/runs/{unknown}/cancel").status_code == 404
    v1 = client.get(f"/v1/runs/{unknown}")
    assert v1.status_code == 404
    assert v1.json() == {"error": f"Unable to load function run: {unknown}", "data": None, "status": 404}
    assert client.get("/v1/runs/xyz").json() == {"error": "Invalid run ID: xyz", "data": None, "status": 400}
    assert client.get("/v2/events/nope/runs").status_code == 400
    assert client.get(f"/v2/events/{unknown}/runs").json()["data"] == []


def test_stub_forced_transitions(client: httpx.Client) -> None:
    a, b = (
        only_run(client, e)
        for e in send(client, [{"name": "shop/order.created"}, {"name": "shop/order.created"}])
    )
    done = client.post(f"/_stub/runs/{a}/complete", json={"output": {"forced": True}})
    assert done.status_code == 200 and done.json()["run"]["status"] == "COMPLETED"
    assert v2_run(client, a, includeOutput="true")["output"] == {"forced": True}
    failed = client.post(f"/_stub/runs/{b}/fail", json={"message": "nope"})
    assert failed.json()["run"]["output"] == {"error": {"name": "Error", "message": "nope"}}
    assert client.post(f"/_stub/runs/{b}/complete").status_code == 409
    assert client.post("/_stub/runs/01J0000000000000000000000Z/fail").status_code == 404


def test_rerun_invoke_and_v2_send_event(client: httpx.Client) -> None:
    original = only_run(client, send(client, {"name": "shop/user.signup"})[0])
    r = client.post(f"/v2/runs/{original}/rerun", json={})
    assert r.status_code == 200
    rerun_id = r.json()["data"]["runId"]
    assert rerun_id != original
    assert client.get(f"/v1/runs/{rerun_id}").json()["data"]["original_run_id"] == original
    assert client.post(f"/v2/runs/{original}/rerun", json={"fromStep": {}}).json()["errors"][0]["code"] == (
        "missing_field"
    )

    invoked = client.post(
        "/v2/apps/shop/functions/order/invoke", json={"data": {"x": 1}, "idempotencyKey": "k1"}
    )
    assert invoked.status_code == 200
    run_id = invoked.json()["data"]["runId"]
    assert v2_run(client, run_id)["function"]["id"] == "order"
    dup = client.post("/v2/apps/shop/functions/order/invoke", json={"data": {"x": 1}, "idempotencyKey": "k1"})
    assert dup.status_code == 409 and dup.json()["data"]["runId"] == run_id
    listed = client.get("/v2/apps/shop/functions/order/runs").json()["data"]
    assert [(x["id"], x["trigger"]["eventName"]) for x in listed] == [(run_id, "inngest/function.invoked")]
    missing = client.post("/v2/apps/shop/functions/nope/invoke", json={})
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"] == "Function not found"

    sent = client.post("/v2/events", json={"name": "shop/user.signup", "data": {"a": 1}})
    assert sent.status_code == 200
    event_id = sent.json()["data"]["eventId"]
    assert len(runs_of(client, event_id)) == 1
    bad = client.post("/v2/events", json={"data": {}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "missing_field"
    reserved = client.post("/v2/events", json={"name": "inngest/x"})
    assert reserved.status_code == 400 and reserved.json()["errors"][0]["code"] == "invalid_field_format"


def test_rerun_from_a_step_memoizes_the_steps_before_it(client: httpx.Client) -> None:
    original = only_run(client, send(client, {"name": "shop/user.signup"})[0])
    early = client.post(f"/v2/runs/{original}/rerun", json={"fromStep": {"stepId": "send"}})
    assert early.status_code == 400  # the original run has not reached "send" yet
    assert early.json()["errors"] == [
        {"code": "invalid_request", "message": "Step not found in original run"}
    ]
    advance(client, 2500)  # load (1 s), send (1 s): completed
    r = client.post(f"/v2/runs/{original}/rerun", json={"fromStep": {"stepId": "send"}})
    assert r.status_code == 200, r.text
    rerun_id = r.json()["data"]["runId"]
    children = client.get(f"/v2/runs/{rerun_id}/trace").json()["data"]["rootSpan"]["children"]
    assert [(c["stepId"], c["status"], c.get("durationMs")) for c in children] == [
        ("load", "COMPLETED", None),  # memoized: zero duration, so omitted like protojson does
        ("send", "RUNNING", None),
    ]
    advance(client, 1000)
    done = v2_run(client, rerun_id, includeOutput="true")
    assert (
        done["status"] == "COMPLETED" and done["durationMs"] == "1000" and done["output"] == {"data": "sent"}
    )
    unknown = client.post("/v2/runs/01J0000000000000000000000Z/rerun", json={"fromStep": {"stepId": "x"}})
    assert unknown.status_code == 404


def _iso_now(c: httpx.Client) -> str:
    now: str = c.get("/_stub/clock").json()["now"]
    return now


def test_bulk_cancellation_cancels_the_live_runs_in_its_window(client: httpx.Client) -> None:
    first, second, other = (
        only_run(client, e)
        for e in send(
            client,
            [
                {"name": "shop/order.created", "data": {"n": 1}},
                {"name": "shop/order.created", "data": {"n": 2}},
                {"name": "shop/user.signup"},
            ],
        )
    )
    advance(client, 10)
    before = _iso_now(client)
    advance(client, 10)
    later = only_run(client, send(client, {"name": "shop/order.created", "data": {"n": 3}})[0])
    body = {"app_id": "shop", "function_id": "order", "started_before": before, "if": "event.data.n >= 2"}
    r = client.post("/v1/cancellations", json=body)
    assert r.status_code == 200, r.text
    created = r.json()["data"]
    assert created["function_id"] == "shop-order" and created["started_before"] == before
    assert created["if"] == "event.data.n >= 2" and created["started_after"] is None
    statuses = {run: v2_run(client, run)["status"] for run in (first, second, other, later)}
    assert statuses == {first: "RUNNING", second: "CANCELLED", other: "RUNNING", later: "RUNNING"}

    whole = client.post(
        "/v1/cancellations", json={"app_id": "shop", "function_id": "shop-order", "started_before": before}
    )
    assert whole.status_code == 200 and v2_run(client, first)["status"] == "CANCELLED"
    listed = client.get("/v1/cancellations").json()["data"]
    assert [c["id"] for c in listed] == sorted([created["id"], whole.json()["data"]["id"]])
    deleted = client.delete(f"/v1/cancellations/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"] == {"ok": True}
    assert client.delete(f"/v1/cancellations/{created['id']}").json()["error"] == "Cancellation not found"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"function_id": "order", "started_before": "2020-01-01T00:00:00Z"}, 400, "app_id is required"),
        ({"app_id": "shop", "function_id": "order"}, 400, "started_before is required"),
        (
            {"app_id": "shop", "function_id": "order", "started_before": "2999-01-01T00:00:00Z"},
            400,
            "started_before must be in the past",
        ),
        (
            {
                "app_id": "shop",
                "function_id": "order",
                "started_before": "2020-01-01T00:00:00Z",
                "started_after": "2021-01-01T00:00:00Z",
            },
            400,
            "started_after must be before started_before",
        ),
        (
            {"app_id": "shop", "function_id": "order", "started_before": "yesterday"},
            400,
            "Invalid cancellation request",
        ),
        (
            {"app_id": "shop", "function_id": "nope", "started_before": "2020-01-01T00:00:00Z"},
            404,
            "function not found",
        ),
    ],
)
def test_bulk_cancellation_errors(
    client: httpx.Client, body: dict[str, Any], status: int, error: str
) -> None:
    r = client.post("/v1/cancellations", json=body)
    assert r.status_code == status
    assert r.json() == {"error": error, "data": None, "status": status}


def test_list_runs_filters_and_pagination(client: httpx.Client) -> None:
    send(client, [{"name": "shop/user.signup"}, {"name": "shop/order.created"}, {"name": "shop/fail"}])
    advance(client, 2500)  # welcome completed, boom failed, order running

    def ids(**params: Any) -> list[str]:
        r = client.get("/v2/runs", params=params)
        assert r.status_code == 200, r.text
        return [x["function"]["id"] for x in r.json()["data"]]

    assert ids() == ["boom", "order", "welcome"]  # newest first
    assert ids(order="ASC") == ["welcome", "order", "boom"]
    assert ids(status="RUNNING") == ["order"]
    assert sorted(ids(status="COMPLETED,FAILED")) == ["boom", "welcome"]
    assert sorted(ids(status=["COMPLETED", "FAILED"])) == ["boom", "welcome"]
    assert ids(appId="shop", functionId="welcome") == ["welcome"]
    assert ids(appId="audit") == []

    first = client.get("/v2/runs", params={"limit": 2}).json()
    assert first["page"]["hasMore"] is True and first["page"]["limit"] == 2
    rest = client.get("/v2/runs", params={"limit": 2, "cursor": first["page"]["cursor"]}).json()
    assert [x["function"]["id"] for x in rest["data"]] == ["welcome"] and "hasMore" not in rest["page"]

    outputs = client.get("/v2/runs", params={"status": "COMPLETED", "includeOutput": "true"}).json()["data"]
    assert outputs[0]["output"] == {"data": "sent"}

    cases: list[tuple[dict[str, str], str]] = [
        ({"functionId": "welcome"}, "appId is required when filtering by functionId"),
        ({"limit": "101"}, "Limit cannot exceed 100"),
        ({"status": "BOGUS"}, "Status is invalid"),
        ({"cursor": "garbage!"}, "Cursor is invalid"),
        ({"limit": "-1"}, "Limit must be at least 1"),
        ({"from": "yesterday"}, "from must be a valid timestamp"),
    ]
    for params, message in cases:
        r = client.get("/v2/runs", params=params)
        assert r.status_code == 400 and r.json()["errors"][0]["message"] == message
    assert client.get("/v2/events/01J0000000000000000000000Z/runs", params={"limit": 41}).status_code == 400


def test_time_range_filters_and_v1_event_cursor(client: httpx.Client) -> None:
    first = send(client, {"name": "shop/user.signup"})[0]
    advance(client, 10_000)
    second = send(client, {"name": "shop/user.signup"})[0]
    queued_at = [r["queuedAt"] for r in runs_of(client, first) + runs_of(client, second)]
    r = client.get("/v2/runs", params={"from": queued_at[1], "until": "2100-01-01T00:00:00Z"}).json()
    assert [x["trigger"]["eventIds"] for x in r["data"]] == [[second]]
    assert r["metadata"]["timeRange"] == {"from": queued_at[1], "until": "2100-01-01T00:00:00Z"}
    ended = client.get("/v2/runs", params={"timeField": "endedAt"}).json()["data"]
    assert [x["trigger"]["eventIds"] for x in ended] == [[first]]  # only the first run has ended

    newest = client.get("/v1/events", params={"limit": 1}).json()["data"]
    assert [e["internal_id"] for e in newest] == [second]
    older = client.get("/v1/events", params={"cursor": second}).json()["data"]
    assert [e["internal_id"] for e in older] == [first]
    assert client.get("/v1/events", params={"cursor": "bad"}).status_code == 400


def test_builtin_demo_config() -> None:
    with run_asgi(create_app()) as url, httpx.Client(base_url=url, timeout=5.0, trust_env=False) as c:
        welcome, order, fail = send(
            c, [{"name": "app/user.signup"}, {"name": "app/order.created"}, {"name": "app/fail"}]
        )
        runs = {e: only_run(c, e) for e in (welcome, order, fail)}
        advance(c, 3000)
        assert v2_run(c, runs[welcome])["status"] == "COMPLETED"
        assert v2_run(c, runs[fail])["status"] == "FAILED"
        assert v2_run(c, runs[order])["status"] == "RUNNING"
        assert c.post(f"/v2/runs/{runs[order]}/cancel").status_code == 200
        assert v2_run(c, runs[order])["status"] == "CANCELLED"
        fns = c.get("/v2/apps/demo-app/functions").json()["data"]
        assert [f["id"] for f in fns][:3] == ["send-welcome-email", "process-order", "always-fails"]


def test_apps_and_functions_discovery(client: httpx.Client) -> None:
    apps = client.get("/v2/apps").json()
    assert [a["id"] for a in apps["data"]] == ["shop", "audit"]
    shop = apps["data"][0]
    assert (
        shop["method"] == "SERVE" and shop["functionCount"] == 5 and shop["latestSync"]["status"] == "success"
    )
    assert client.get("/api/v2/apps").json()["data"] == apps["data"]
    page = client.get("/v2/apps", params={"limit": 1}).json()
    assert page["page"]["hasMore"] is True
    assert [
        a["id"] for a in client.get("/v2/apps", params={"cursor": page["page"]["cursor"]}).json()["data"]
    ] == ["audit"]
    assert client.get("/v2/apps/shop").json()["data"]["name"] == "Shop"
    assert client.get("/v2/apps/nope").status_code == 404

    fns = client.get("/v2/apps/shop/functions").json()["data"]
    by_id = {f["id"]: f for f in fns}
    assert list(by_id) == ["welcome", "order", "boom", "vip", "nightly"]
    assert by_id["vip"]["triggers"] == [
        {"type": "EVENT", "value": "shop/vip", "condition": "event.data.tier == 'gold'"}
    ]
    assert by_id["nightly"]["triggers"] == [{"type": "CRON", "value": "0 3 * * *"}]
    order = client.get("/v2/apps/shop/functions/order").json()["data"]
    assert order["app"] == {"id": "shop"} and order["configuration"]["retries"] == {"value": 2}
    assert by_id["welcome"]["configuration"]["retries"] == {"value": 4, "isDefault": True}
    assert client.get("/v2/apps/shop/functions/shop-order").json()["data"]["id"] == "order"  # slug accepted
    nf = client.get("/v2/apps/shop/functions/nope")
    assert nf.status_code == 404 and nf.json()["errors"][0] == {
        "code": "not_found",
        "message": "Function not found",
    }
    assert client.get("/v2/apps/nope/functions").status_code == 404

    v1 = client.get("/v1/apps/shop/functions")
    raw = v1.json()
    assert isinstance(raw, list) and [f["id"] for f in raw][:2] == ["shop-welcome", "shop-order"]
    assert raw[0]["config"]["triggers"] == [{"event": "shop/user.signup"}] and raw[0]["archived_at"] is None


def test_nonexistent_routes_and_methods(client: httpx.Client) -> None:
    for method, path in [
        ("GET", "/v1/functions"),
        ("POST", "/v1/runs/01J0000000000000000000000Z/cancel"),
        ("POST", "/v1/runs/x/cancel"),
        ("GET", "/v1/runs"),
        ("GET", "/v1/apps"),
        ("POST", "/v1/runs/01J0000000000000000000000Z/replay"),
        ("GET", "/v2/functions"),
        ("POST", "/v2/runs/01J0000000000000000000000Z/replay"),
        ("GET", "/v1/events/"),
        ("GET", "/nothing"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 404, (method, path)
        assert r.text == "404 page not found\n"
        assert r.headers["content-type"].startswith("text/plain")
    assert client.delete("/v2/runs/01J0000000000000000000000Z").status_code == 405
    assert client.get("/e/key").status_code == 405
    assert client.put("/v1/runs/01J0000000000000000000000Z").status_code == 405


# -- auth -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {SIGNING_KEY}",
        f"Bearer {HEX_KEY}",
        f"Bearer {HASHED}",  # inngest-py form
        f"Bearer signkey-test-{HASHED}",  # inngest-js form
        f"bearer {SIGNING_KEY}",
        f"BEARER {HASHED.upper()}",
        f"Bearer {FALLBACK_KEY}",
    ],
)
def test_accepted_signing_key_forms(secured: httpx.Client, header: str) -> None:
    assert secured.get("/v1/events", headers={"Authorization": header}).status_code == 200
    assert secured.get("/v2/health", headers={"Authorization": header}).json()["data"] == {"status": "ok"}
    assert secured.get("/api/v2/apps", headers={"Authorization": header}).status_code == 200


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "authorization_header_missing"),
        ("Basic abc", "authorization_header_missing"),
        ("Bearer", "authorization_header_missing"),
        ("Bearer signkey-test-" + "00" * 32, "invalid_signing_key"),
        (f"Bearer {HEX_KEY[:-2]}", "invalid_signing_key"),
        (f"Bearer {hashlib.sha256(HASHED.encode()).hexdigest()}", "invalid_signing_key"),
        ("Bearer sk-inn-api-wrong", "invalid_api_key"),
    ],
)
def test_rejected_credentials(secured: httpx.Client, header: str | None, code: str) -> None:
    headers = {"Authorization": header} if header else {}
    v1 = secured.get("/v1/events", headers=headers)
    assert v1.status_code == 401 and v1.text == "Authentication failed\n"
    assert v1.headers["content-type"].startswith("text/plain")
    v2 = secured.get("/v2/runs/01J0000000000000000000000Z", headers=headers)
    assert v2.status_code == 401
    (error,) = v2.json()["errors"]
    assert error["code"] == code
    assert HEX_KEY not in v2.text and HASHED not in v2.text


def test_api_keys_are_v2_only(secured: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    assert secured.get("/v2/apps", headers=headers).status_code == 200
    assert secured.get("/v1/events", headers=headers).status_code == 401


def test_event_keys_when_configured(secured: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="naftiko_inngest_dev")
    r = secured.post("/e/wrong-key", json={"name": "shop/user.signup"})
    assert r.status_code == 401
    assert r.json() == {"status": 401, "message": "", "error": "Event key not found"}
    missing = secured.post("/e/", json={"name": "shop/user.signup"})
    assert missing.status_code == 401 and missing.json()["error"] == "Event key is required"
    assert send(secured, {"name": "shop/user.signup"}, key=EVENT_KEY)
    assert secured.get("/health").headers["x-inngest-server-kind"] == "cloud"
    assert "/e/*** 200" in caplog.text and EVENT_KEY not in caplog.text and "wrong-key" not in caplog.text


# -- faults and the journal -------------------------------------------------------------------------------


def test_request_journal(client: httpx.Client) -> None:
    seed = "1750000000000," + base64.b64encode(bytes(10)).decode()
    send(
        client,
        [{"name": "shop/user.signup"}],
        **{"x-inngest-env": "feature/x", "x-inngest-event-id-seed": seed},
    )
    client.get("/v2/runs", params={"status": ["RUNNING", "QUEUED"]}, headers={"Authorization": "Bearer abc"})
    journal = client.get("/_stub/requests").json()["requests"]
    assert [(e["method"], e["path"]) for e in journal] == [("POST", "/e/any-key"), ("GET", "/v2/runs")]
    post, get = journal
    assert (
        post["headers"]["x-inngest-env"] == "feature/x" and post["headers"]["x-inngest-event-id-seed"] == seed
    )
    assert post["json"] == [{"name": "shop/user.signup"}] and post["status"] == 200 and post["fault"] is None
    assert (
        get["query_params"] == {"status": ["RUNNING", "QUEUED"]}
        and get["headers"]["authorization"] == "Bearer abc"
    )
    filtered = client.get("/_stub/requests", params={"method": "GET", "path": "^/v2/"}).json()["requests"]
    assert [e["path"] for e in filtered] == ["/v2/runs"]
    assert client.post("/_stub/reset").status_code == 200
    assert client.get("/_stub/requests").json()["requests"] == []


def test_fault_status_nth_and_canned_bodies(client: httpx.Client) -> None:
    ids = client.post(
        "/_stub/faults",
        json={"rules": [{"method": "POST", "path": "^/e/", "nth": [1], "action": "status", "status": 503}]},
    ).json()["ids"]
    first = client.post("/e/k", json={"name": "shop/user.signup"})
    assert first.status_code == 503 and first.headers["content-type"].startswith("text/html")
    assert send(client, {"name": "shop/user.signup"})
    journal = client.get("/_stub/requests").json()
    assert [(e["status"], e["fault"]) for e in journal["requests"]] == [(503, ids[0]), (200, None)]
    assert journal["faults"][0]["matched"] == 2 and journal["faults"][0]["fired"] == 1

    client.post("/_stub/faults", json=[{"path": "^/v2/", "action": "status", "status": 500, "times": 1}])
    r = client.get("/v2/apps")
    assert r.status_code == 500 and r.json() == {
        "errors": [{"code": "internal_error", "message": "Internal server error"}]
    }
    client.post(
        "/_stub/faults", json={"path": "^/v1/", "action": "status", "status": 429, "body": {"custom": 1}}
    )
    r = client.get("/v1/events")
    assert r.status_code == 429 and r.json() == {"custom": 1} and r.headers["retry-after"] == "1"
    assert client.delete("/_stub/faults").status_code == 200
    assert client.get("/v1/events").status_code == 200


def test_fault_delay(client: httpx.Client) -> None:
    client.post("/_stub/faults", json={"path": "^/v2/health$", "action": "delay", "ms": 300, "times": 1})
    start = time.monotonic()
    assert client.get("/v2/health").status_code == 200
    assert time.monotonic() - start >= 0.29
    start = time.monotonic()
    assert client.get("/v2/health").status_code == 200
    assert time.monotonic() - start < 0.25


def test_fault_reset_drops_the_connection(client: httpx.Client) -> None:
    client.post("/_stub/faults", json={"method": "POST", "path": "^/e/", "action": "reset", "times": 1})
    with pytest.raises(httpx.TransportError):
        client.post("/e/k", json={"name": "shop/user.signup"})
    assert send(client, {"name": "shop/user.signup"})
    statuses = [e["status"] for e in client.get("/_stub/requests").json()["requests"]]
    assert statuses == [None, 200]


def test_fault_after_phase_keeps_the_side_effect_and_seeded_retry_is_idempotent(client: httpx.Client) -> None:
    client.post(
        "/_stub/faults",
        json={"method": "POST", "path": "^/e/", "action": "reset", "phase": "after", "nth": 1},
    )
    seed = "1760000000000," + base64.b64encode(b"0123456789").decode()
    with pytest.raises(httpx.TransportError):
        client.post("/e/k", json=[{"name": "shop/user.signup"}], headers={"x-inngest-event-id-seed": seed})
    (event_id,) = send(client, [{"name": "shop/user.signup"}], **{"x-inngest-event-id-seed": seed})
    assert len(runs_of(client, event_id)) == 1  # the event was accepted once, the retry did not duplicate it
    assert len(client.get("/v1/events").json()["data"]) == 1


def test_fault_hang_until_the_client_gives_up(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=0.3, trust_env=False) as c:
        c.post("/_stub/reset")
        c.post("/_stub/faults", json={"path": "^/v2/health$", "action": "hang", "times": 1})
        with pytest.raises(httpx.ReadTimeout):
            c.get("/v2/health")
        assert c.get("/v2/health").status_code == 200


def test_fault_rules_validation_and_listing(client: httpx.Client) -> None:
    bad = client.post("/_stub/faults", json={"action": "explode"})
    assert bad.status_code == 400 and "action" in bad.json()["error"]
    assert client.post("/_stub/faults", json={"action": "delay", "path": "("}).status_code == 400
    rid = client.post("/_stub/faults", json={"id": "slow", "action": "delay", "ms": 1}).json()["ids"]
    assert rid == ["slow"]
    assert [r["id"] for r in client.get("/_stub/faults").json()["rules"]] == ["slow"]
    assert client.delete("/_stub/faults/slow").status_code == 200
    assert client.delete("/_stub/faults/slow").status_code == 404
    assert client.post("/_stub/clock/advance", json={"ms": -1}).status_code == 400


def test_faults_from_config_survive_reset() -> None:
    config = _config(
        faults=[{"method": "GET", "path": "^/v2/apps$", "action": "status", "status": 502, "every": 2}]
    )
    with run_asgi(create_app(config)) as url, httpx.Client(base_url=url, trust_env=False) as c:
        assert [c.get("/v2/apps").status_code for _ in range(4)] == [200, 502, 200, 502]
        c.post("/_stub/reset")
        assert [c.get("/v2/apps").status_code for _ in range(2)] == [200, 502]


# -- configuration and CLI --------------------------------------------------------------------------------


def test_config_files_and_validation(tmp_path: Path) -> None:
    yaml_file = tmp_path / "dev.yaml"
    yaml_file.write_text(
        "event_keys: [k1]\ntime_scale: 0\napps:\n  - id: a\n    functions:\n"
        "      - id: f\n        trigger: a/x\n        steps: [{id: s, duration_ms: 5, op: sleep}]\n",
        encoding="utf-8",
    )
    config = DevConfig.from_file(yaml_file)
    assert config.event_keys == ["k1"] and not config.dev_mode
    (fn,) = config.apps[0].functions
    assert fn.triggers[0].event == "a/x" and fn.steps[0].op == "SLEEP"
    json_file = tmp_path / "dev.json"
    json_file.write_text(json.dumps({"apps": APPS}), encoding="utf-8")
    assert [a.id for a in DevConfig.from_file(json_file).apps] == ["shop", "audit"]
    with pytest.raises(ConfigError, match="unknown key 'evnt_keys'"):
        DevConfig.from_mapping({"evnt_keys": []})
    with pytest.raises(ConfigError, match=r"apps\[0\]\.functions\[0\]\.steps\[0\]\.op"):
        DevConfig.from_mapping({"apps": [{"id": "a", "functions": [{"id": "f", "steps": [{"op": "FLY"}]}]}]})
    demo = DevConfig.demo()
    assert demo.dev_mode and not demo.signing_keys
    assert [f.id for f in demo.apps[0].functions][:3] == [
        "send-welcome-email",
        "process-order",
        "always-fails",
    ]


def test_cli_flags_build_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--event-key",
            "k1",
            "--event-key",
            "k2",
            "--signing-key",
            SIGNING_KEY,
            "--function",
            "shop/ping=shop/ping.*",
        ]
    )
    assert (args.host, args.port, args.log_level) == ("127.0.0.1", 8288, "info")
    config = load_config(args)
    assert config.event_keys == ["k1", "k2"] and config.signing_keys == [SIGNING_KEY]
    assert [a.id for a in config.apps] == ["demo-app", "shop"]
    assert config.apps[1].functions[0].triggers[0].event == "shop/ping.*"
    assert main(["--function", "no-equals-sign"]) == 2
    assert main(["--config", "/does/not/exist.yaml"]) == 2


def test_cli_serves_on_an_ephemeral_port() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "naftiko_inngest_dev",
            "--port",
            "0",
            "--event-key",
            "evt-secret-zz",
            "--function",
            "x/y=x/ping",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line and "evt-secret-zz" not in line
        url = line.split("listening on ")[1].split()[0]
        assert int(url.rsplit(":", 1)[1]) > 0
        with httpx.Client(base_url=url, timeout=5.0, trust_env=False) as c:
            deadline = time.monotonic() + 5
            while True:
                try:
                    r = c.post("/e/evt-secret-zz", json={"name": "x/ping"})
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            assert r.status_code == 200
            (event_id,) = r.json()["ids"]
            assert [run["function"]["id"] for run in runs_of(c, event_id)] == ["y"]
            assert c.post("/e/other", json={"name": "x/ping"}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()  # type: ignore[union-attr]
