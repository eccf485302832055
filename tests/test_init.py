"""``naftiko init``: a scaffolded capability validates, serves on a free port and answers at once, from
scratch (flags or prompts) and from an OpenAPI description."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import yaml
from mcp.client import Client

from naftiko_runtime.cli import main
from naftiko_runtime.init_cli import init_command

from .conftest import ServeFiles
from .support import run_asgi
from .upstreams import echo_app

PETS = {
    "openapi": "3.0.3",
    "info": {"title": "Pet Shop", "version": "1"},
    "servers": [{"url": "https://pets.example/v1"}],
    "paths": {
        "/pets/{petId}": {
            "get": {
                "operationId": "getPet",
                "summary": "One pet",
                "parameters": [
                    {"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "the pet"}},
            }
        }
    },
}


def _ports(path: Path) -> dict[str, int]:
    exposes = yaml.safe_load(path.read_text())["capability"]["exposes"]
    return {a["namespace"]: 0 for a in exposes}


def test_init_from_scratch_validates_serves_and_answers_over_rest_and_mcp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], serve_files: ServeFiles
) -> None:
    assert main(["init", "greeter", "--dir", str(tmp_path), "--no-input"]) == 0
    path = tmp_path / "greeter.yaml"
    out = capsys.readouterr().out
    assert f"wrote {path}" in out and f"{path}: valid (0 errors, 0 warnings)" in out
    assert f"naftiko call {path} hello name=you" in out
    assert main(["validate", "--strict", str(path)]) == 0
    with serve_files([path], ports=_ports(path)) as adapters:
        urls = {a.namespace: a.url.rstrip("/") for a in adapters}
        rest = httpx.get(urls["greeter-rest"] + "/hello", params={"name": "Lin"}).json()

        async def tool() -> object:
            async with Client(urls["greeter-mcp"]) as client:
                return (await client.call_tool("hello", {"name": "Lin"})).structured_content

        assert rest == asyncio.run(tool()) == {"message": "Hello, Lin!"}
    capsys.readouterr()
    assert main(["call", str(path), "hello", "name=you"]) == 0
    assert json.loads(capsys.readouterr().out) == {"message": "Hello, you!"}


def test_init_asks_on_a_terminal_with_defaults_in_brackets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from naftiko_runtime.cli import build_parser

    asked: list[str] = []
    answers = iter(["Weather Desk", "", "8181", ""])

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    args: argparse.Namespace = build_parser().parse_args(["init", "--dir", str(tmp_path)])
    assert init_command(args, ask=ask) == 0
    assert asked == [
        "Name [my-capability]: ",
        "Description [Weather desk: what it does, in one sentence.]: ",
        "REST port [8080]: ",
        "MCP port [9090]: ",
    ]
    document = yaml.safe_load((tmp_path / "weather-desk.yaml").read_text())
    assert [(a["namespace"], a["port"]) for a in document["capability"]["exposes"]] == [
        ("weather-desk-rest", 8181),
        ("weather-desk-mcp", 9090),
    ]


def test_init_from_openapi_reuses_the_import_and_calls_reach_the_upstream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], serve_files: ServeFiles
) -> None:
    source = tmp_path / "pets.json"
    source.write_text(json.dumps(PETS))
    assert (
        main(["init", "--from-openapi", str(source), "--dir", str(tmp_path / "out"), "--rest-port", "8123"])
        == 0
    )
    path = tmp_path / "out" / "pet-shop.yaml"
    assert f"{path}: valid" in capsys.readouterr().out
    document = yaml.safe_load(path.read_text())
    assert document["capability"]["exposes"][0]["port"] == 8123
    with (
        run_asgi(echo_app()) as upstream,
        serve_files([path], ports=_ports(path), upstreams={"pet-shop": upstream}) as adapters,
    ):
        url = next(a.url for a in adapters if a.namespace == "pet-shop-rest")
        capsys.readouterr()
        assert main(["call", url, "get-pet", "petId=7"]) == 0
    echoed = json.loads(capsys.readouterr().out)
    assert (echoed["method"], echoed["path"]) == ("GET", "/pets/7")


def test_init_refuses_to_overwrite_and_bad_names_and_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "a", "--dir", str(tmp_path), "--no-input"]) == 0
    assert main(["init", "a", "--dir", str(tmp_path), "--no-input"]) == 2
    assert f"{tmp_path / 'a.yaml'} exists; pass --force" in capsys.readouterr().err
    assert main(["init", "a", "--dir", str(tmp_path), "--no-input", "--force"]) == 0
    assert main(["init", "9lives", "--dir", str(tmp_path), "--no-input"]) == 2
    assert main(["init", "b", "--dir", str(tmp_path), "--no-input", "--mcp-port", "8080"]) == 2
    assert "two ports, got 8080 twice" in capsys.readouterr().err
    missing = tmp_path / "missing.json"
    assert main(["init", "--from-openapi", str(missing), "--dir", str(tmp_path)]) == 1


def test_init_stops_without_writing_when_a_prompt_is_left_unanswered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from naftiko_runtime.cli import build_parser

    def ask(prompt: str) -> str:
        raise EOFError

    args = build_parser().parse_args(["init", "--dir", str(tmp_path)])
    assert init_command(args, ask=ask) == 2
    assert "stopped; nothing written" in capsys.readouterr().err and not list(tmp_path.iterdir())
