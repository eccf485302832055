"""``naftiko call``: REST operations and MCP tools called from the terminal, against served adapters (real
servers on loopback) and against capability files loaded in the process, with exit codes by result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from naftiko_runtime.cli import main

from .conftest import ServeFiles
from .support import ROOT, run_asgi

EXAMPLES = ROOT / "examples"
HELLO = str(EXAMPLES / "hello-mock.yaml")
ORDERS = str(EXAMPLES / "order-status.yaml")


def _shop() -> Starlette:
    orders = {"o-1": {"id": "o-1", "status": "shipped", "total": 42.5, "customerId": "c-7"}}
    customers = {"c-7": {"id": "c-7", "name": "Ada Lovelace", "email": "ada@example.org"}}

    async def order(request: Request) -> JSONResponse:
        found = orders.get(request.path_params["id"])
        if request.path_params["id"] == "o-boom":
            return JSONResponse({"error": "database down"}, status_code=500)
        return JSONResponse(found or {"error": "no such order"}, status_code=200 if found else 404)

    async def customer(request: Request) -> JSONResponse:
        return JSONResponse(customers[request.path_params["id"]])

    return Starlette(routes=[Route("/api/orders/{id}", order), Route("/api/customers/{id}", customer)])


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with run_asgi(_shop()) as url:
        yield url + "/api"


@pytest.fixture
def served(serve_files: ServeFiles, shop: str) -> Iterator[dict[str, str]]:
    """The mock and the orchestrated examples served on free ports: namespace → URL."""
    ports = {ns: 0 for ns in ("hello-mcp", "hello-rest", "orders-mcp", "orders-rest")}
    with serve_files([HELLO, ORDERS], ports=ports, upstreams={"shop": shop}) as adapters:
        yield {a.namespace: a.url for a in adapters}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["call", *argv])
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def test_a_capability_file_is_called_in_process_with_no_server(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, HELLO, "hello", "name=Ada")
    assert code == 0 and out == {"message": "Hello, Ada!", "source": "mock"}


def test_without_a_name_the_operations_and_tools_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, HELLO)
    assert code == 0
    assert "mcp hello-mcp" in out and "rest hello-rest" in out and "GET /hello" in out


def test_an_unknown_name_is_a_usage_error_listing_what_there_is(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, HELLO, "goodbye")
    assert code == 2 and out == ""
    assert "no operation or tool 'goodbye'" in err and "hello  GET /hello" in err


def test_a_rest_operation_of_a_running_adapter_by_operation_id(
    served: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, served["orders-rest"], "order-status", "orderId=o-1")
    assert code == 0
    assert out == {
        "orderId": "o-1",
        "status": "shipped",
        "total": 42.5,
        "customerName": "Ada Lovelace",
        "customerEmail": "ada@example.org",
    }


def test_an_mcp_tool_of_a_running_endpoint_over_streamable_http(
    served: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert served["hello-mcp"].endswith("/mcp")
    code, out, _ = run(capsys, served["hello-mcp"], "hello", "name=Bo")
    assert code == 0 and out == {"message": "Hello, Bo!", "source": "mock"}


def test_kind_says_what_a_url_is_without_probing(
    served: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, served["orders-mcp"], "--kind", "mcp", "order-status", "orderId=o-1")
    assert code == 0 and out["customerName"] == "Ada Lovelace"
    code, _, err = run(capsys, served["orders-rest"], "--kind", "mcp", "order-status")
    assert code == 1 and "not MCP" in err


def test_a_value_declared_a_string_stays_text_and_others_are_read_as_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, HELLO, "hello", "name=007", "--kind", "rest")
    assert code == 0 and out["message"] == "Hello, 007!"
    code, out, _ = run(capsys, str(EXAMPLES / "skill-catalog.yaml"), "dice-roll", "sides=20")
    assert code == 0 and out["sides"] in (20, "20")


def test_arguments_that_do_not_fit_the_tool_are_refused_before_calling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, str(EXAMPLES / "skill-catalog.yaml"), "dice-roll", "sides=many")
    assert code == 2 and "sides: 'many' is not of type 'number'" in err
    code, _, err = run(capsys, str(EXAMPLES / "skill-catalog.yaml"), "dice-roll")
    assert code == 2 and "'sides' is a required property" in err
    code, _, err = run(capsys, HELLO, "hello", "--kind", "rest", "colour=blue")
    assert code == 2 and "hello has no argument 'colour'; it takes: name" in err
    code, _, err = run(capsys, HELLO, "hello", "name:=not-json")
    assert code == 2 and "name:=not-json: not JSON" in err


def test_json_gives_the_whole_arguments_object(capsys: pytest.CaptureFixture[str], shop: str) -> None:
    code, out, _ = run(
        capsys,
        ORDERS,
        "order-status",
        "--kind",
        "mcp",
        "--upstream",
        f"shop={shop}",
        "--json",
        '{"orderId": "o-1"}',
    )
    assert code == 0 and out["total"] == 42.5


def test_an_upstream_failure_exits_1_with_the_problem_on_stderr(
    served: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, served["orders-rest"], "order-status", "orderId=o-boom")
    assert code == 1 and out == ""
    assert "order-status failed (502" in err and '"status": 502' in err
    code, out, err = run(capsys, served["orders-mcp"], "order-status", "orderId=o-boom")
    assert code == 1 and out == "" and "order-status failed (tool result)" in err


def test_an_unreachable_target_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    from .support import free_port

    code, _, err = run(capsys, f"http://127.0.0.1:{free_port()}", "anything")
    assert code == 1 and "cannot reach" in err


def test_a_capability_with_an_unset_bind_or_errors_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEATHER_API_KEY", raising=False)
    code, _, err = run(capsys, str(EXAMPLES / "weather-api-key.yaml"), "current-weather", "city=Oslo")
    assert code == 1 and "WEATHER_API_KEY is not set" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("naftiko: 1.0.0-alpha2\ncapability: {exposes: 3}\n")
    code, _, err = run(capsys, str(broken), "x")
    assert code == 1 and f"{broken}:2:23  $.capability.exposes  error:" in err
    assert err.rstrip().endswith(f"naftiko call: {broken} has errors")


def test_target_that_is_neither_a_url_nor_a_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "no-such-file.yaml", "hello")
    assert code == 2 and "neither an http(s) URL nor a file" in err


def test_output_is_coloured_only_when_asked_for(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, HELLO, "hello", "name=Ada")
    assert code == 0 and isinstance(out, dict)  # piped: plain JSON
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(["call", HELLO, "hello", "name=Ada"]) == 0
    coloured = capsys.readouterr().out
    assert "\x1b[" in coloured and json.loads(_strip(coloured)) == {
        "message": "Hello, Ada!",
        "source": "mock",
    }
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["call", HELLO, "hello", "name=Ada"]) == 0
    assert "\x1b[" not in capsys.readouterr().out


def _strip(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
