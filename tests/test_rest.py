"""The REST exposer over real sockets: routing, inputs, ``with``, status mapping, forward and OpenAPI."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from jsonschema import Draft202012Validator

from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.exposes.rest import MAX_BODY_BYTES
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file, load_text

from .conftest import ServeAdapter
from .support import free_port, requires_shared, run_asgi, write_seed
from .upstreams import echo_app, scripted_app

TOKEN = "tok-3f9a1c7e55"

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Items API, description: REST exposer tests}
binds:
- namespace: env
  keys: {API_TOKEN: TEST_API_TOKEN}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://upstream.invalid
    authentication: {type: bearer, token: "{{API_TOKEN}}"}
    resources:
    - name: items
      path: /items/{id}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - {name: id, in: path}
        - {name: limit, in: query}
        - {name: tags, in: query}
        - {name: verbose, in: query}
        - {name: mode, in: query}
        - {name: x-echo-status, in: header}
        - {name: X-Trace, in: header}
    - name: things
      path: /things
      operations:
      - name: create-thing
        method: POST
        inputParameters: [{name: x-echo-status, in: header}]
        body: {type: json, data: {name: "{{name}}", size: "{{size}}"}}
    - name: raw
      path: /raw/{rest}
      operations:
      - name: get-any
        method: GET
        inputParameters:
        - {name: rest, in: path}
        - {name: x-echo-status, in: header}
        - {name: x-echo-delay, in: header}
      - name: post-any
        method: POST
        inputParameters: [{name: rest, in: path}, {name: x-echo-status, in: header}, {name: body, in: body}]
  - type: http
    namespace: txt
    baseUri: http://scripted.invalid
    resources:
    - {name: text, path: /text, operations: [{name: text, method: GET}]}
    - {name: html, path: /html, operations: [{name: html, method: GET}]}
    - {name: empty, path: /empty, operations: [{name: empty, method: DELETE}]}
    - {name: gone, path: /gone-text, operations: [{name: gone, method: GET}]}
  - type: http
    namespace: down
    baseUri: http://127.0.0.1:DEAD_PORT
    resources:
    - {name: ping, path: /ping, operations: [{name: ping, method: GET}]}
  exposes:
  - type: rest
    namespace: items-api
    port: 0
    description: Items over REST.
    resources:
    - path: /items/{item-id}
      name: item
      description: One item.
      inputParameters:
      - {name: item-id, in: path, type: string, description: the id, pattern: "^[a-z0-9-]+$"}
      operations:
      - method: GET
        name: get-item
        label: Get an item
        inputParameters:
        - {name: limit, in: query, type: integer, description: page size, required: true}
        - {name: verbose, in: query, type: boolean, description: more detail}
        - {name: tags, in: query, type: array, description: tags}
        - {name: X-Status, in: header, type: integer, description: status the echo answers}
        call: up.get-item
        with:
          id: items-api.item-id
          limit: rest.LIMIT
          x-echo-status: rest.x-status
          X-Trace: "trace-{{item-id}}"
          mode: fixed-mode
        outputParameters:
        - type: object
          properties:
            method: {type: string, mapping: $.method}
            path: {type: string, mapping: $.path}
            query: {type: string, mapping: $.query}
            auth: {type: string, mapping: $.headers.authorization}
            trace: {type: string, mapping: "$.headers.x-trace"}
    - path: /items/{{key}}
      operations:
      - method: DELETE
        name: delete-item
        outputParameters:
        - {name: deleted, type: string, value: "{{key}}"}
    - path: /things
      operations:
      - method: POST
        name: create-thing
        inputParameters:
        - {name: name, in: body, type: string, description: the name, required: true}
        - {name: size, in: body, type: number, description: the size, value: $.spec.size, required: true}
        - {name: X-Status, in: header, type: integer, description: status}
        call: up.create-thing
        with: {x-echo-status: rest.X-Status}
    - path: /raw/{rest}
      operations:
      - {method: GET, name: get-any, call: up.get-any}
      - {method: POST, name: post-any, call: up.post-any}
    - path: /mock/{name}
      operations:
      - method: GET
        name: greet
        outputParameters:
        - {name: greeting, type: string, value: "hello {{name}}"}
        - {name: kind, type: string, value: static}
    - path: /text-mapped
      operations:
      - method: GET
        call: txt.text
        outputParameters: [{type: string, mapping: $.words}]
    - path: /not-an-array/{rest}
      operations:
      - method: GET
        call: up.get-any
        outputParameters: [{type: array, mapping: $.method, items: {type: string, mapping: $.}}]
    - path: /text-raw
      operations: [{method: GET, call: txt.html}]
    - path: /empty
      operations: [{method: DELETE, call: txt.empty}]
    - path: /gone
      operations: [{method: GET, call: txt.gone}]
    - path: /down
      operations: [{method: GET, call: down.ping}]
    - path: /proxy/{{path}}
      forward: {targetNamespace: up, trustedHeaders: [X-Keep]}
"""

SCRIPTED = {
    "/text": (200, "text/plain", "plain words"),
    "/html": (200, "text/html", "<p>hi</p>"),
    "/empty": (204, "application/json", ""),
    "/gone-text": (410, "text/plain", "gone for good"),
}


@contextlib.contextmanager
def serve_rest(
    serve_adapter: ServeAdapter,
    doc: m.NaftikoDocument,
    env: dict[str, str],
    upstreams: dict[str, str],
    timeouts: Timeouts | None = None,
) -> Iterator[httpx.Client]:
    with (
        serve_adapter(doc, env, upstreams, timeouts=timeouts) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def api(serve_adapter: ServeAdapter) -> Iterator[httpx.Client]:
    text = CAPABILITY.replace("DEAD_PORT", str(free_port()))
    result = load_text(text, "items.yaml")
    assert not result.errors(), [f.format() for f in result.findings]
    with run_asgi(echo_app()) as echo, run_asgi(scripted_app(SCRIPTED)) as scripted:
        with serve_rest(
            serve_adapter,
            result.require(),
            {"TEST_API_TOKEN": TOKEN},
            {"up": echo, "txt": scripted},
            Timeouts(connect=1, total=0.5),
        ) as client:
            yield client


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    assert TOKEN not in response.text
    return body


# --- routing -------------------------------------------------------------------------------------------


def test_unknown_path_is_a_404_problem(api: httpx.Client) -> None:
    body = _problem(api.get("/nowhere"), 404)
    assert "/nowhere" in body["detail"]


def test_known_path_with_another_method_is_405_with_allow(api: httpx.Client) -> None:
    response = api.patch("/items/abc")
    _problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "DELETE"}


def test_resources_of_one_shape_share_a_route_with_their_own_names(api: httpx.Client) -> None:
    assert api.delete("/items/abc-1").json() == {"deleted": "abc-1"}
    assert api.get("/items/abc-1", params={"limit": 1}).json()["path"] == "/items/abc-1"


def test_mock_operation_answers_200_and_a_trailing_slash_matches(api: httpx.Client) -> None:
    response = api.get("/mock/bob/")
    assert response.status_code == 200
    assert response.json() == {"greeting": "hello bob", "kind": "static"}


# --- declared inputs -----------------------------------------------------------------------------------


def test_declared_inputs_are_read_coerced_and_passed_through_with(api: httpx.Client) -> None:
    response = api.get(
        "/items/abc-1",
        params=[("LIMIT", "x"), ("limit", "25"), ("tags", "a"), ("tags", "b"), ("verbose", "TRUE")],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"] == "GET" and body["path"] == "/items/abc-1"
    assert parse_qs(body["query"]) == {
        "limit": ["25"],
        "tags": ["a", "b"],
        "verbose": ["true"],
        "mode": ["fixed-mode"],
    }
    assert body["auth"] == "Bearer ***"  # the bound token reached the upstream, and never comes back
    assert body["trace"] == "trace-abc-1"


@pytest.mark.parametrize(("value", "sent"), [("{}", ["{}"]), ("[x", ["[x"]), ('["a","b"]', ["a", "b"])])
def test_an_array_query_value_is_json_only_when_it_is_a_json_array(
    api: httpx.Client, value: str, sent: list[str]
) -> None:
    # the document allows any item, so a value that only looks like JSON is one item, not a 400
    response = api.get("/items/abc-1", params={"limit": "1", "tags": value})
    assert response.status_code == 200, response.text
    assert parse_qs(response.json()["query"])["tags"] == sent


@pytest.mark.parametrize(
    ("path", "params", "headers", "parameter", "where", "message"),
    [
        ("/items/abc", {}, {}, "limit", "query", "is required"),
        ("/items/abc", {"limit": "ten"}, {}, "limit", "query", "must be an integer"),
        ("/items/abc", {"limit": "1", "verbose": "maybe"}, {}, "verbose", "query", "must be a boolean"),
        ("/items/abc", {"limit": "1"}, {"X-Status": "teapot"}, "X-Status", "header", "must be an integer"),
        ("/items/NOT_OK", {"limit": "1"}, {}, "item-id", "path", "does not match the pattern"),
    ],
)
def test_bad_declared_inputs_are_400_naming_the_parameter(
    api: httpx.Client,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    parameter: str,
    where: str,
    message: str,
) -> None:
    body = _problem(api.get(path, params=params, headers=headers), 400)
    assert (body["parameter"], body["in"]) == (parameter, where)
    assert message in body["detail"] and parameter in body["detail"]


def test_body_inputs_by_name_and_jsonpath_with_a_201_passthrough(api: httpx.Client) -> None:
    response = api.post(
        "/things", json={"name": "box", "spec": {"size": "12.5"}}, headers={"X-Status": "201"}
    )
    assert response.status_code == 201, response.text
    echoed = response.json()
    assert echoed["method"] == "POST" and echoed["path"] == "/things"
    assert echoed["body"] == {"name": "box", "size": 12.5}


def test_body_input_errors(api: httpx.Client) -> None:
    body = _problem(api.post("/things", json={"spec": {"size": 1}}), 400)
    assert (body["parameter"], body["in"]) == ("name", "body")
    body = _problem(api.post("/things", json={"name": "box", "spec": {"size": "big"}}), 400)
    assert body["parameter"] == "size" and "must be a number" in body["detail"]
    body = _problem(
        api.post("/things", content=b"{not json", headers={"content-type": "application/json"}), 400
    )
    assert "not valid JSON" in body["detail"]


def test_request_body_over_the_limit_is_413(api: httpx.Client) -> None:
    _problem(api.post("/raw/x", content=b"0" * (MAX_BODY_BYTES + 1)), 413)


# --- implicit inputs -----------------------------------------------------------------------------------


def test_implicit_inputs_are_path_variables_query_and_body(api: httpx.Client) -> None:
    response = api.post("/raw/x-1", params={"x-echo-status": "201"}, json={"a": [1, 2]})
    assert response.status_code == 201
    echoed = response.json()
    assert (echoed["method"], echoed["path"], echoed["body"]) == ("POST", "/raw/x-1", {"a": [1, 2]})
    assert echoed["headers"]["x-echo-status"] == "201"


@pytest.mark.parametrize("value", ["a%2Fb", "..%2F..%2Fv1%2Fadmin", "%2E%2E", "caf%C3%A9%20x"])
def test_a_path_value_reaches_the_upstream_as_one_encoded_segment(api: httpx.Client, value: str) -> None:
    response = api.get(f"/raw/{value}")
    assert response.status_code == 200, response.text
    path = response.json()["path"]
    assert path.count("/") == 2 and path.startswith("/raw/") and ".." not in path.split("/")


# --- upstream outcomes ---------------------------------------------------------------------------------


def test_upstream_4xx_is_a_problem_keeping_its_status_and_json_body(api: httpx.Client) -> None:
    response = api.get("/raw/missing", params={"x-echo-status": "404"})
    body = _problem(response, 404)
    assert body["upstreamStatus"] == 404 and body["upstreamBody"]["path"] == "/raw/missing"
    assert TOKEN not in response.text


def test_upstream_4xx_without_json_is_a_problem_with_the_excerpt(api: httpx.Client) -> None:
    body = _problem(api.get("/gone"), 410)
    assert body["upstreamStatus"] == 410 and "gone for good" in body["detail"]


def test_upstream_5xx_is_a_502_problem(api: httpx.Client) -> None:
    body = _problem(api.get("/raw/x", params={"x-echo-status": "503"}), 502)
    assert body["upstreamStatus"] == 503 and body["operation"] == "up.get-any"


def test_upstream_timeout_is_504(api: httpx.Client) -> None:
    body = _problem(api.get("/raw/slow", params={"x-echo-delay": "1"}), 504)
    assert body["operation"] == "up.get-any"


def test_connection_refused_is_502(api: httpx.Client) -> None:
    body = _problem(api.get("/down"), 502)
    assert "cannot connect" in body["detail"] and body["operation"] == "down.ping"


def test_non_json_upstream_body_with_outputs_is_502(api: httpx.Client) -> None:
    body = _problem(api.get("/text-mapped"), 502)
    assert "not JSON" in body["detail"]


def test_payload_that_does_not_fit_the_outputs_is_502(api: httpx.Client) -> None:
    body = _problem(api.get("/not-an-array/x"), 502)
    assert "expects an array" in body["detail"]


def test_non_json_body_without_outputs_passes_through_raw(api: httpx.Client) -> None:
    response = api.get("/text-raw")
    assert (response.status_code, response.text) == (200, "<p>hi</p>")
    assert response.headers["content-type"].startswith("text/html")


def test_empty_upstream_answer_keeps_its_status_and_has_no_body(api: httpx.Client) -> None:
    response = api.delete("/empty")
    assert (response.status_code, response.content) == (204, b"")


# --- forward -------------------------------------------------------------------------------------------


def test_forward_copies_trusted_headers_only_and_applies_the_consumer_auth(api: httpx.Client) -> None:
    response = api.post(
        "/proxy/a/b%2Fc",
        params={"q": "1"},
        json={"k": "v"},
        headers={"X-Keep": "yes", "X-Drop": "no", "x-echo-status": "202"},
    )
    assert response.status_code == 200  # x-echo-status is not trusted: the echo answers 200
    echoed = response.json()
    assert (echoed["method"], echoed["path"], echoed["query"]) == ("POST", "/a/b%2Fc", "q=1")
    assert echoed["body"] == {"k": "v"}
    assert echoed["headers"]["x-keep"] == "yes" and "x-drop" not in echoed["headers"]
    assert echoed["headers"]["authorization"] == "Bearer ***"
    _problem(api.get("/proxy/%2E%2E/admin"), 400)


# --- index and docs ------------------------------------------------------------------------------------


def test_root_is_an_index_of_the_adapters_operations_with_links(api: httpx.Client) -> None:
    index = api.get("/").json()
    openapi = api.get("/openapi.json").json()
    assert index["type"] == "rest" and index["title"] == "Items API"
    assert index["links"] == {"openapi": "/openapi.json", "docs": "/docs"}
    listed = {(op["method"], op["path"]) for op in index["operations"]}
    declared = {
        (verb.upper(), p)
        for p, item in openapi["paths"].items()
        for verb in item
        if verb in ("get", "put", "post", "delete", "patch")
    }
    assert listed == declared and ("GET", "/items/{item-id}") in listed
    page = api.get("/", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/docs"' in page.text and "/items/{item-id}" in page.text
    assert api.post("/").status_code == 405


def test_docs_serve_swagger_ui_from_the_package_with_no_external_url(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    assert '"/openapi.json"' in page.text
    for asset in re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', page.text):
        fetched = api.get(asset)
        assert fetched.status_code == 200 and len(fetched.content) > 100, asset
    bundle = api.get("/docs/static/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text and "javascript" in bundle.headers["content-type"]
    _problem(api.get("/docs/static/../../__init__.py"), 404)
    _problem(api.get("/docs/static/swagger-editor.js"), 404)


# --- OpenAPI -------------------------------------------------------------------------------------------


def test_openapi_document(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "Items API" and "Items over REST." in doc["info"]["description"]
    get = doc["paths"]["/items/{item-id}"]["get"]
    assert get["operationId"] == "get-item" and get["summary"] == "Get an item"
    params = {p["name"]: p for p in get["parameters"]}
    assert params["item-id"] == {
        "name": "item-id",
        "in": "path",
        "required": True,
        "description": "the id",
        "schema": {"type": "string", "pattern": "^[a-z0-9-]+$"},
    }
    assert params["limit"]["required"] is True and params["limit"]["schema"] == {"type": "integer"}
    assert params["X-Status"]["in"] == "header" and params["verbose"]["required"] is False
    schema = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["type"] == "object" and set(schema["properties"]) == {
        "method",
        "path",
        "query",
        "auth",
        "trace",
    }
    for status in ("400", "502", "504"):
        problem = get["responses"][status]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}
    assert doc["paths"]["/items/{key}"]["delete"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"type": "object", "properties": {"deleted": {}}}  # a lone {{key}} keeps the input's own type
    body = doc["paths"]["/things"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["required"] == ["name", "size"]
    assert "requestBody" in doc["paths"]["/raw/{rest}"]["post"]
    assert "502" not in doc["paths"]["/mock/{name}"]["get"]["responses"]
    assert "Problem" in doc["components"]["schemas"]
    for schema in _schemas(doc):  # OpenAPI 3.1 schemas are JSON Schema 2020-12
        Draft202012Validator.check_schema(schema)


def _schemas(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" or (key == "schemas" and isinstance(value, dict)):
                yield from ([value] if key == "schema" else value.values())
            yield from _schemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schemas(item)


# --- the seed capability -------------------------------------------------------------------------------

SEED_ENV = {"INNGEST_SIGNING_KEY": "signkey-5e3d9b1a", "INNGEST_EVENT_KEY": "eventkey-77c2"}


@pytest.fixture(scope="module")
def seed_doc(tmp_path_factory: pytest.TempPathFactory) -> m.NaftikoDocument:
    path: Path = write_seed(tmp_path_factory.mktemp("seed"))
    return load_file(path).require()


@pytest.fixture(scope="module")
def seed_api(seed_doc: m.NaftikoDocument, serve_adapter: ServeAdapter, echo: str) -> Iterator[httpx.Client]:
    with serve_rest(serve_adapter, seed_doc, SEED_ENV, {"inngest-workflow": echo}) as client:
        yield client


@requires_shared
@pytest.mark.parametrize(
    ("method", "path", "upstream_method", "upstream_path"),
    [
        ("POST", "/v1/workflows/trigger/order.created", "POST", "/e/order.created"),
        ("GET", "/v1/workflows/functions", "GET", "/v1/functions"),
        ("GET", "/v1/workflows/runs/run-01", "GET", "/v2/runs/run-01"),
        ("GET", "/v1/workflows/runs/run-01/trace", "GET", "/v2/runs/run-01/trace"),
        ("POST", "/v1/workflows/runs/run-01/cancel", "POST", "/v1/runs/run-01/cancel"),
        ("GET", "/v1/workflows/runs/..%2F..%2Fv1%2Fadmin", "GET", "/v2/runs/..%2F..%2Fv1%2Fadmin"),
        ("GET", "/v1/workflows/runs/a%2Fb/trace", "GET", "/v2/runs/a%2Fb/trace"),
    ],
)
def test_seed_routes_reach_the_upstream(
    seed_api: httpx.Client, method: str, path: str, upstream_method: str, upstream_path: str
) -> None:
    payload = {"name": "order.created", "data": {"id": 7}}
    response = seed_api.request(method, path, json=payload if "trigger" in path else None)
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert (echoed["method"], echoed["path"]) == (upstream_method, upstream_path)
    assert echoed["headers"]["authorization"] == "Bearer ***"  # only a bound secret is masked like this
    assert SEED_ENV["INNGEST_SIGNING_KEY"] not in response.text
    if "trigger" in path:
        assert echoed["body"] == payload


@requires_shared
def test_seed_keeps_serving_after_upstream_failures(
    seed_doc: m.NaftikoDocument, serve_adapter: ServeAdapter
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with serve_rest(serve_adapter, seed_doc, SEED_ENV, {"inngest-workflow": dead}) as client:
        for _ in range(3):
            body = _problem(client.get("/v1/workflows/runs/r1"), 502)
            assert body["operation"] == "inngest-workflow.getCanonicalRun"
        malformed = client.post(
            "/v1/workflows/trigger/k", content=b"{oops", headers={"content-type": "application/json"}
        )
        _problem(malformed, 400)
        assert client.get("/openapi.json").status_code == 200
        assert len(client.get("/openapi.json").json()["paths"]) == 5


@requires_shared
def test_seed_trigger_without_its_body_is_refused_up_front_as_its_mcp_tool_refuses_it(
    seed_doc: m.NaftikoDocument, serve_adapter: ServeAdapter
) -> None:
    # the upstream is not listening: a request that reached it would be a 502, not a 400
    dead = f"http://127.0.0.1:{free_port()}"
    with serve_rest(serve_adapter, seed_doc, SEED_ENV, {"inngest-workflow": dead}) as client:
        body = _problem(client.post("/v1/workflows/trigger/k"), 400)
        assert (body["parameter"], body["in"], body["jsonPath"]) == ("body", "body", "$")
        body = _problem(client.post("/v1/workflows/trigger/k", json=["not", "an", "object"]), 400)
        assert "must be a JSON object" in body["detail"] and body["jsonPath"] == "$"
        post = client.get("/openapi.json").json()["paths"]["/v1/workflows/trigger/{eventkey}"]["post"]
        request = post["requestBody"]
        assert request["required"] is True
        assert request["content"]["application/json"]["schema"]["type"] == "object"
        assert [p["name"] for p in post["parameters"]] == ["eventkey"]  # fed by the path, nothing else
