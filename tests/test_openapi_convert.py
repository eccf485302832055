"""``naftiko import openapi`` over the corpus's OpenAPI fixtures (each result validates --strict and
serves REST and MCP), and ``naftiko export openapi`` (the document each REST adapter serves)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from openapi_spec_validator import validate as validate_openapi

from naftiko_runtime.cli import main
from naftiko_runtime.convert.openapi_export import export_openapi
from naftiko_runtime.convert.openapi_import import HINTS, OpenApiImportError, import_openapi, read_source
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file

from .conftest import ServeAdapter
from .support import CONFORMANCE, requires_shared, run_asgi
from .test_mcp import dump, serve_mcp
from .test_rest import serve_rest
from .upstreams import echo_app

BETA5 = CONFORMANCE / "ikanos-beta5"
FIXTURES = sorted((BETA5 / "spec" / "openapi").glob("*")) + sorted((BETA5 / "cli" / "openapi").glob("*"))
IDS = [f"{p.parent.parent.name}/{p.name}" for p in FIXTURES]


def _import(source: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"{source.stem}.yaml"
    assert main(["import", "openapi", str(source), "-o", str(out)]) == 0
    return out


@requires_shared
@pytest.mark.parametrize("source", FIXTURES, ids=IDS)
def test_imported_fixture_validates_strict_and_serves_rest_and_mcp(
    serve_adapter: ServeAdapter, source: Path, tmp_path: Path
) -> None:
    out = _import(source, tmp_path)
    assert main(["validate", "--strict", str(out)]) == 0
    doc = load_file(out).require(strict=True)
    spec = read_source(str(source))
    assert doc.capability is not None
    rest, mcp = doc.capability.exposes
    assert isinstance(rest, m.ExposesRest) and isinstance(mcp, m.ExposesMcp)
    ns = doc.capability.consumes[0].namespace
    gets = [(r.path_template, o) for r in rest.resources for o in r.operations if o.method == "GET"]
    path, op = gets[0]
    concrete = path.replace("{{petId}}", "7").replace("{{userId}}", "7")
    with run_asgi(echo_app()) as up:
        with serve_rest(serve_adapter, doc, {}, {ns: up}) as client:
            response = client.get(concrete)
            assert response.status_code == 200, response.text
            assert response.json()["method"] == "GET" and response.json()["path"] == concrete
            served = client.get("/openapi.json").json()
        with serve_mcp(serve_adapter, doc, {}, {ns: up}) as url:
            tools = asyncio.run(_tools(url))
    methods = {o.name: o.method for r in rest.resources for o in r.operations}
    operations = [
        o
        for item in spec["paths"].values()
        for k, o in item.items()
        if k in ("get", "post", "put", "patch", "delete")
    ]
    assert len(tools) == len(methods) == len(operations)
    for name, tool in tools.items():
        hints = {
            k.removesuffix("Hint"): v for k, v in tool.get("annotations", {}).items() if k.endswith("Hint")
        }
        assert hints == HINTS[methods[name]]
    validate_openapi(served)


async def _tools(url: str) -> dict[str, Any]:
    async with Client(url) as client:
        return {t.name: dump(t) for t in (await client.list_tools()).tools}


@requires_shared
def test_imported_petstore_calls_reach_the_upstream_with_path_query_and_body(
    serve_adapter: ServeAdapter, tmp_path: Path
) -> None:
    doc = load_file(_import(BETA5 / "spec" / "openapi" / "petstore-3.1.yaml", tmp_path)).require(strict=True)
    assert doc.capability is not None
    ns = doc.capability.consumes[0].namespace
    with run_asgi(echo_app()) as up, serve_rest(serve_adapter, doc, {}, {ns: up}) as client:
        listed = client.get("/pets", params={"limit": 2}).json()
        created = client.post("/pets", json={"name": "Rex"}).json()
        deleted = client.delete("/pets/9").json()
    assert (listed["path"], listed["query"]) == ("/pets", "limit=2")
    assert (created["method"], created["body"]) == ("POST", {"name": "Rex"})
    assert (deleted["method"], deleted["path"]) == ("DELETE", "/pets/9")


@requires_shared
@pytest.mark.parametrize("source", FIXTURES, ids=IDS)
def test_export_is_the_served_document_and_valid_openapi_3_1(
    serve_adapter: ServeAdapter, source: Path, tmp_path: Path
) -> None:
    capability = _import(source, tmp_path)
    out = tmp_path / "openapi.json"
    assert main(["export", "openapi", str(capability), "-o", str(out)]) == 0
    exported = json.loads(out.read_text())
    validate_openapi(exported)
    assert exported["openapi"] == "3.1.0"
    doc = load_file(capability).require()
    [adapter] = [a for a in doc.capability.exposes if isinstance(a, m.ExposesRest)]  # type: ignore[union-attr]
    with (
        run_asgi(echo_app()) as up,
        serve_rest(serve_adapter, doc, {}, {doc.capability.consumes[0].namespace: up}) as client,
    ):
        served = client.get("/openapi.json").json()
    served["servers"] = exported["servers"]  # the served copy names the address it was bound to
    assert served == exported == export_openapi(doc)[adapter.namespace] | {"servers": exported["servers"]}


def test_export_yaml_and_the_adapter_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "two.yaml").write_text(
        """\
naftiko: 1.0.0-alpha2
info: {label: Two, description: two REST adapters}
capability:
  exposes:
  - type: rest
    namespace: one
    port: 8081
    resources: [{path: /a, name: a, operations: [{method: GET, outputParameters: [{name: x, type: string, value: "1"}]}]}]
  - type: rest
    namespace: two
    port: 8082
    resources: [{path: /b, name: b, operations: [{method: GET, outputParameters: [{name: x, type: string, value: "2"}]}]}]
"""
    )
    assert main(["export", "openapi", str(tmp_path / "two.yaml")]) == 1
    assert "2 REST adapters (REST adapters: one, two)" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                "openapi",
                str(tmp_path / "two.yaml"),
                "--adapter",
                "two",
                "-o",
                str(tmp_path / "b.yaml"),
            ]
        )
        == 0
    )
    text = (tmp_path / "b.yaml").read_text()
    assert "/b:" in text and "/a:" not in text


def test_inputs_that_are_not_openapi_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.yaml").write_text("asyncapi: 2.0.0\n")
    assert main(["import", "openapi", str(tmp_path / "x.yaml")]) == 1
    assert "is not Swagger 2.0 or OpenAPI 3.x" in capsys.readouterr().err
    with pytest.raises(OpenApiImportError, match="no GET, POST"):
        import_openapi({"openapi": "3.1.0", "info": {"title": "t"}, "paths": {}})
    assert main(["import", "openapi", str(tmp_path / "missing.yaml")]) == 1


def test_import_reads_a_url(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Remote API"},
        "servers": [{"url": "http://api.example.com/{v}", "variables": {"v": {"default": "v2"}}}],
        "paths": {
            "/things/{id}": {
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"$ref": "#/components/schemas/Id"},
                    }
                ],
                "put": {
                    "requestBody": {"$ref": "#/components/requestBodies/Thing"},
                    "responses": {"200": {"description": "ok"}},
                },
            }
        },
        "components": {
            "schemas": {"Id": {"type": ["integer", "null"]}},
            "requestBodies": {"Thing": {"required": True, "content": {"application/json": {}}}},
        },
    }

    async def serve_spec(request: Any) -> JSONResponse:
        return JSONResponse(spec)

    with run_asgi(Starlette(routes=[Route("/openapi.json", serve_spec)])) as base:
        capability, notes = import_openapi(read_source(base + "/openapi.json"))
    assert notes == []
    consumes = capability["capability"]["consumes"][0]
    assert consumes["baseUri"] == "http://api.example.com/v2"
    op = consumes["resources"][0]["operations"][0]
    assert (op["name"], op["method"]) == ("put-things-id", "PUT")
    [tool] = capability["capability"]["exposes"][1]["tools"]
    assert tool["inputParameters"] == [
        {"name": "id", "type": "integer", "description": "path parameter id", "required": True},
        {"name": "body", "type": "object", "description": "the JSON request body", "required": True},
    ]
