"""A REST operation's request and response schemas come from the same derivation as an MCP tool's: what
its parameters leave unsaid (required, ``enum``, ``items``) is what the function they feed declares, the
``/openapi.json`` shows it, and a request that breaks it is refused before any upstream call, naming the
parameter, where it is read from and (in a JSON body) the JSONPath of the fault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from naftiko_runtime.spec.loader import load_text

from .conftest import ServeAdapter
from .support import run_asgi
from .upstreams import echo_app

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Orders, description: REST schemas derived like MCP ones}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://upstream.invalid
    resources:
    - name: orders
      path: /orders
      operations:
      - name: list-orders
        method: GET
        inputParameters: [{name: state, in: query}, {name: limit, in: query}]
      - name: create-order
        method: POST
        inputParameters: [{name: sku, in: body}, {name: tags, in: body}, {name: note, in: body}]
  aggregates:
  - namespace: shop
    functions:
    - name: list-orders
      description: Orders by state
      inputParameters:
      - {name: state, type: string, enum: [open, shipped], description: 'Only orders in this state.'}
      - {name: limit, type: integer, required: false, description: Page size}
      call: up.list-orders
      outputParameters:
      - type: object
        properties:
          method: {type: string, mapping: $.method}
          missing: {type: string, mapping: $.nothing.here}
    - name: create-order
      description: Place an order
      inputParameters:
      - {name: sku, type: string}
      - {name: tags, type: array, required: false, items: {type: string, enum: [gift, rush]}}
      - {name: note, type: string, required: false}
      call: up.create-order
  exposes:
  - type: rest
    namespace: orders-rest
    port: 0
    resources:
    - path: /orders
      operations:
      - method: GET
        name: list-orders
        ref: shop.list-orders
        inputParameters:
        - {name: state, in: query, type: string, description: state}
        - {name: limit, in: query, type: integer, description: page size}
      - method: POST
        name: create-order
        ref: shop.create-order
        inputParameters:
        - {name: sku, in: body, type: string, description: the article}
        - {name: tags, in: body, type: array, description: labels}
        - {name: note, in: body, type: string, description: a note, required: true}
"""


class Counting:
    """The echo upstream, counting the requests that reach it."""

    def __init__(self) -> None:
        self.hits = 0
        self.echo = echo_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.hits += 1
        await self.echo(scope, receive, send)


@pytest.fixture(scope="module")
def upstream() -> Counting:
    return Counting()


@pytest.fixture(scope="module")
def api(serve_adapter: ServeAdapter, upstream: Counting) -> Iterator[httpx.Client]:
    result = load_text(CAPABILITY, "orders.yaml")
    assert not result.errors(), [f.format() for f in result.findings]
    with (
        run_asgi(upstream) as up,
        serve_adapter(result.require(), {}, {"up": up}) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


def refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "urn:naftiko:problem:invalid-input"
    return body


def test_the_openapi_parameters_take_required_and_enum_from_the_function(api: httpx.Client) -> None:
    get = api.get("/openapi.json").json()["paths"]["/orders"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert params["state"]["required"] is True
    assert params["state"]["schema"] == {"type": "string", "enum": ["open", "shipped"], "minLength": 1}
    assert params["state"]["description"] == "state" and params["limit"]["required"] is False


def test_the_openapi_body_takes_required_and_items_from_the_function(api: httpx.Client) -> None:
    body = api.get("/openapi.json").json()["paths"]["/orders"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True and schema["required"] == ["sku", "note"]  # note: the REST side says so
    assert schema["properties"]["tags"]["items"] == {"type": "string", "enum": ["gift", "rush"]}


def test_the_openapi_response_is_the_shaped_output_with_absent_values_nullable(api: httpx.Client) -> None:
    get = api.get("/openapi.json").json()["paths"]["/orders"]["get"]
    schema = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["type"] == "object"
    assert schema["properties"]["missing"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    answer = api.get("/orders", params={"state": "open"})
    assert answer.json() == {"method": "GET", "missing": None}  # what the document allows


def test_a_request_within_the_schema_reaches_the_upstream(api: httpx.Client, upstream: Counting) -> None:
    before = upstream.hits
    response = api.post("/orders", json={"sku": "a-1", "tags": ["gift"], "note": "n"})
    assert response.status_code == 200, response.text
    assert upstream.hits == before + 1


def test_a_missing_required_input_is_refused_before_the_upstream(
    api: httpx.Client, upstream: Counting
) -> None:
    before = upstream.hits
    body = refused(api.get("/orders"))
    assert (body["parameter"], body["in"]) == ("state", "query") and "jsonPath" not in body
    body = refused(api.post("/orders", json={"note": "n"}))
    assert (body["parameter"], body["in"], body["jsonPath"]) == ("sku", "body", "$.sku")
    assert upstream.hits == before


def test_a_value_outside_the_enum_is_refused_naming_where(api: httpx.Client, upstream: Counting) -> None:
    before = upstream.hits
    body = refused(api.get("/orders", params={"state": "lost"}))
    assert (body["parameter"], body["in"]) == ("state", "query") and "'lost' is not one of" in body["detail"]
    body = refused(api.post("/orders", json={"sku": "a", "note": "n", "tags": ["gift", "slow"]}))
    assert (body["parameter"], body["jsonPath"]) == ("tags", "$.tags[1]") and "'slow'" in body["detail"]
    assert upstream.hits == before


def test_a_wrong_type_is_refused_naming_where(api: httpx.Client, upstream: Counting) -> None:
    before = upstream.hits
    body = refused(api.post("/orders", json={"sku": "a", "note": "n", "tags": {"a": 1}}))
    assert (body["parameter"], body["in"], body["jsonPath"]) == ("tags", "body", "$.tags")
    assert "must be an array" in body["detail"]
    body = refused(api.get("/orders", params={"state": "open", "limit": "many"}))
    assert (body["parameter"], body["in"]) == ("limit", "query")
    assert upstream.hits == before
