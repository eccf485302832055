"""Every capability under ``examples/`` validates strictly, serves, and answers what its header promises:
each one is served here on free ports (against a local upstream where it consumes one) and called over
REST, MCP (the ``mcp`` client), the skill catalog and the control adapter."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp.client import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from naftiko_runtime.cli import main
from naftiko_runtime.server import BoundAdapter

from .conftest import ServeFiles
from .support import ROOT, run_asgi

EXAMPLES = ROOT / "examples"
API_KEY = "wx-key-0123456789"


def _free(paths: list[str]) -> dict[str, int]:
    """Port 0 (a free port) for every adapter of the files: the documented ports may be taken here."""
    import yaml

    ports: dict[str, int] = {}
    for path in paths:
        for adapter in yaml.safe_load((EXAMPLES / path).read_text())["capability"]["exposes"]:
            ports[adapter.get("namespace") or adapter["type"]] = 0
    return ports


def _urls(adapters: list[BoundAdapter]) -> dict[str, str]:
    return {a.namespace: a.url.rstrip("/") for a in adapters}


async def _tool(url: str, name: str, arguments: dict[str, Any]) -> Any:
    async with Client(url) as client:
        result = await client.call_tool(name, arguments)
        assert not result.is_error, result
        return result.structured_content


def test_every_example_validates_strictly(capsys: pytest.CaptureFixture[str]) -> None:
    examples = sorted(EXAMPLES.glob("*.yaml"))
    assert len(examples) >= 6
    assert main(["validate", "--strict", str(EXAMPLES)]) == 0, capsys.readouterr().out
    for path in examples:
        assert path.read_text().startswith(("#", "ikanos:")), f"{path.name} has no header comment"


def test_mock_example_answers_from_the_file_the_same_over_rest_and_mcp(serve_files: ServeFiles) -> None:
    with serve_files([EXAMPLES / "hello-mock.yaml"], ports=_free(["hello-mock.yaml"])) as adapters:
        urls = _urls(adapters)
        rest = httpx.get(urls["hello-rest"] + "/hello", params={"name": "Ada"}).json()
        tool = asyncio.run(_tool(urls["hello-mcp"], "hello", {"name": "Ada"}))
    assert rest == tool == {"message": "Hello, Ada!", "source": "mock"}


def _weather_api() -> tuple[Starlette, list[str]]:
    seen: list[str] = []

    async def current(request: Request) -> JSONResponse:
        seen.append(request.headers.get("x-api-key", ""))
        if request.headers.get("x-api-key") != API_KEY:
            return JSONResponse({"error": "invalid API key"}, status_code=401)
        city = request.query_params["q"]
        return JSONResponse(
            {"location": {"name": city}, "current": {"temp_c": 11.5, "condition": {"text": "Light rain"}}}
        )

    return Starlette(routes=[Route("/v1/current", current)]), seen


def test_api_key_example_sends_the_bound_key_and_reshapes_the_answer(serve_files: ServeFiles) -> None:
    app, seen = _weather_api()
    with run_asgi(app) as upstream:
        for key, accepted in ((API_KEY, True), ("wrong-key", False)):
            with serve_files(
                [EXAMPLES / "weather-api-key.yaml"],
                ports=_free(["weather-api-key.yaml"]),
                upstreams={"weather": upstream},
                environ={"WEATHER_API_KEY": key},
            ) as adapters:
                response = httpx.get(_urls(adapters)["weather-rest"] + "/weather/Paris")
            assert key not in response.text  # a bound value never reaches a caller
            if accepted:
                assert response.json() == {"city": "Paris", "celsius": 11.5, "conditions": "Light rain"}
            else:  # the server's own credential was refused: the server's fault, not the caller's
                problem = response.json()
                assert response.status_code == 502 and problem["upstreamStatus"] == 401, response.text
                assert problem["upstreamBody"] == {"error": "invalid API key"}
    assert seen == [API_KEY, "wrong-key"]


def _shop() -> Starlette:
    async def order(request: Request) -> JSONResponse:
        return JSONResponse(
            {"id": request.path_params["id"], "status": "paid", "total": 19.9, "customerId": "c-1"}
        )

    async def customer(request: Request) -> JSONResponse:
        assert request.path_params["id"] == "c-1"  # the first step's answer fed the second call
        return JSONResponse({"id": "c-1", "name": "Grace Hopper", "email": "grace@example.org"})

    return Starlette(routes=[Route("/api/orders/{id}", order), Route("/api/customers/{id}", customer)])


def test_orchestrated_example_joins_two_calls_over_rest_and_mcp(serve_files: ServeFiles) -> None:
    expected = {
        "orderId": "o-9",
        "status": "paid",
        "total": 19.9,
        "customerName": "Grace Hopper",
        "customerEmail": "grace@example.org",
    }
    with run_asgi(_shop()) as shop:
        with serve_files(
            [EXAMPLES / "order-status.yaml"],
            ports=_free(["order-status.yaml"]),
            upstreams={"shop": shop + "/api"},
        ) as adapters:
            urls = _urls(adapters)
            rest = httpx.get(urls["orders-rest"] + "/orders/o-9/status").json()
            tool = asyncio.run(_tool(urls["orders-mcp"], "order-status", {"orderId": "o-9"}))
    assert rest == tool == expected


def test_skill_example_lists_its_skills_and_the_tool_behind_them_answers(serve_files: ServeFiles) -> None:
    with serve_files([EXAMPLES / "skill-catalog.yaml"], ports=_free(["skill-catalog.yaml"])) as adapters:
        urls = _urls(adapters)
        catalog = httpx.get(urls["dice-skills"] + "/skills").json()
        detail = httpx.get(urls["dice-skills"] + "/skills/board-games").json()
        rolled = asyncio.run(_tool(urls["dice-mcp"], "dice-roll", {"sides": 6}))
    assert [(s["name"], s["tools"]) for s in catalog["skills"]] == [
        ("board-games", ["dice-roll"]),
        ("fair-play", []),
    ]
    assert "dice-roll" in json.dumps(detail)
    assert rolled["rolled"] == "4"


def test_control_example_reports_health_and_counts_the_routes_calls(serve_files: ServeFiles) -> None:
    with serve_files([EXAMPLES / "control-plane.yaml"], ports=_free(["control-plane.yaml"])) as adapters:
        urls = _urls(adapters)
        ready = httpx.get(urls["control"] + "/health/ready")
        pong = httpx.get(urls["ping-rest"] + "/ping").json()
        metrics = httpx.get(urls["control"] + "/metrics").text
    assert ready.status_code == 200 and ready.json()["status"] == "UP"
    assert pong == {"answer": "pong"}
    counted = [line for line in metrics.splitlines() if line.startswith("naftiko_requests_total")]
    assert any('adapter="ping-rest"' in line for line in counted), counted


@pytest.fixture
def cwd_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)
    yield


def test_each_examples_naftiko_call_line_in_process_works(
    cwd_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ``naftiko call examples/...`` lines of the headers run as written (the mock ones need no upstream)."""
    ran = 0
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for line in path.read_text().splitlines():
            command = re.split(r"\s{2,}", line.lstrip("# ").strip())[0]  # without a trailing remark
            if command.startswith("naftiko call examples/"):
                assert main(command.split()[1:]) == 0, (command, capsys.readouterr())
                assert json.loads(capsys.readouterr().out)
                ran += 1
    assert ran >= 2
