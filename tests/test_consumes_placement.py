"""Values land encoded for where they land: no caller value can change the shape of an upstream request.

Every test sends real HTTP to the local echo upstream and reads back exactly what arrived.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest

from naftiko_runtime.binds import resolve_binds
from naftiko_runtime.consumes.http import HttpConsumer
from naftiko_runtime.engine import Runtime
from naftiko_runtime.errors import InvalidInputError, UnsupportedFeatureError
from naftiko_runtime.spec.loader import load_text

from .support import run_asgi
from .test_consumes_http import AUTH, BINDS, call, capability
from .upstreams import echo_app


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    with run_asgi(echo_app()) as url:
        yield url


API = """\
- type: http
  namespace: api
  baseUri: http://h
  resources:
  - name: r
    path: /items/{{id}}
    operations:
    - name: get
      inputParameters:
      - name: q
        in: query
      - name: X-Note
        in: header
      - name: sid
        in: cookie
    - name: xml
      method: POST
      body:
        type: xml
        data: "<item id='{{id}}'><note>{{note}}</note></item>"
    - name: json-template
      method: POST
      body:
        type: json
        data: '{"id": "{{id}}", "count": {{count}}, "meta": {{meta}}}'
    - name: form-template
      method: POST
      body:
        type: formUrlEncoded
        data: "a={{a}}&b=2"
    - name: sparql
      method: POST
      body:
        type: sparql
        data: 'SELECT ?s WHERE { ?s rdfs:label "{{label}}" ; a {{kind}} ; ?p <{{iri}}> }'
"""


def _body(got: dict[str, Any]) -> str:
    return base64.b64decode(got["body_b64"]).decode("utf-8")


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"])
def test_a_header_value_with_a_line_break_is_refused_before_sending(echo: str, value: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        call(capability(API), "get", {"id": "1", "X-Note": value}, echo)
    assert info.value.parameter == "X-Note" and info.value.extensions["in"] == "header"
    assert info.value.http_status == 400 and "line break" in str(info.value)


def test_query_cookie_and_path_values_cannot_add_parameters_cookies_or_segments(echo: str) -> None:
    got = call(
        capability(API),
        "get",
        {"id": "../admin?x=1#f", "q": "1&admin=true#x\r\n", "sid": "s; admin=1"},
        echo,
    ).data
    assert got["path"] == "/items/..%2Fadmin%3Fx=1%23f"
    assert parse_qsl(got["query"]) == [("q", "1&admin=true#x\r\n")]
    assert got["headers"]["cookie"] == "sid=s%3B%20admin%3D1"


def test_xml_body_values_are_escaped(echo: str) -> None:
    got = call(capability(API), "xml", {"id": "1' evil='x", "note": "</note><admin/>&"}, echo).data
    assert _body(got) == (
        "<item id='1&apos; evil=&apos;x'><note>&lt;/note&gt;&lt;admin/&gt;&amp;</note></item>"
    )


def test_json_template_values_stay_inside_their_slot(echo: str) -> None:
    inputs = {"id": 'x", "admin": true, "y": "', "count": '1, "admin": true', "meta": {"k": [1]}}
    got = call(capability(API), "json-template", inputs, echo).data
    assert got["body"] == {"id": 'x", "admin": true, "y": "', "count": '1, "admin": true', "meta": {"k": [1]}}
    # a string that is itself one JSON value keeps its meaning (a number stays a number)
    got = call(capability(API), "json-template", {"id": "7", "count": "3", "meta": "[1,2]"}, echo).data
    assert got["body"] == {"id": "7", "count": 3, "meta": [1, 2]}


def test_form_template_values_are_form_encoded(echo: str) -> None:
    got = call(capability(API), "form-template", {"id": "1", "a": "1&admin=true"}, echo).data
    assert parse_qsl(_body(got)) == [("a", "1&admin=true"), ("b", "2")]
    assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_sparql_values_are_literals_inside_quotes_and_iris(echo: str) -> None:
    inputs = {
        "id": "1",
        "label": 'x" } ; DROP ALL ; #',
        "kind": "schema:Ship",
        "iri": "http://e/x> } DROP ALL {",
    }
    got = call(capability(API), "sparql", inputs, echo).data
    assert _body(got) == (
        'SELECT ?s WHERE { ?s rdfs:label "x\\" } ; DROP ALL ; #" ; a schema:Ship ; '
        "?p <http://e/x%3E%20%7D%20DROP%20ALL%20%7B> }"
    )
    assert got["headers"]["content-type"] == "application/sparql-query"
    # outside quotes, anything but a plain name or number becomes a quoted literal
    inputs["kind"] = "?x . ?s ?p ?o"
    assert 'a "?x . ?s ?p ?o" ;' in _body(call(capability(API), "sparql", inputs, echo).data)


def test_an_apikey_header_rendered_from_arguments_is_checked_too(echo: str) -> None:
    auth = "    type: apikey\n    key: X-Api-Key\n    value: '{{key}}'\n    placement: header"
    with pytest.raises(InvalidInputError, match="line break"):
        call(capability(AUTH.format(auth=auth)), "op", {"key": "k\r\nX-Evil: 1"}, echo)


def test_a_bound_credential_with_a_line_break_stops_start_up() -> None:
    auth = "    type: bearer\n    token: '{{TOKEN}}'"
    doc = load_text(capability(AUTH.format(auth=auth), BINDS), "cap.yaml").require()
    bindings = resolve_binds(doc, {"TEST_TOKEN": "tok\n", "TEST_USER": "u"})
    with pytest.raises(UnsupportedFeatureError, match="Authorization header .* line break"):
        Runtime(doc, bindings)


FORWARDED = """\
- type: http
  namespace: up
  baseUri: http://h/base
  inputParameters:
  - name: X-Tenant
    in: header
    value: "{{TENANT}}"
  - name: v
    in: query
    value: "2 & 3"
  authentication:
    type: bearer
    token: "{{TOKEN}}"
  resources:
  - name: r
    path: /r
    operations:
    - name: op
"""


def _forward(echo: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    binds = "binds:\n- namespace: env\n  keys:\n    TOKEN: TEST_TOKEN\n    TENANT: TEST_TENANT\n"
    doc = load_text(capability(FORWARDED, binds), "cap.yaml").require()
    bindings = resolve_binds(doc, {"TEST_TOKEN": "tok-9", "TEST_TENANT": "acme"})
    assert doc.capability is not None
    consumer = HttpConsumer(doc.capability.consumes[0], bindings, base_uri=echo + "/base")

    async def go() -> dict[str, Any]:
        try:
            response = await consumer.forward(*args, **kwargs)
        finally:
            await consumer.close()
        payload: dict[str, Any] = json.loads(response.body)
        return {"status": response.status, **payload}

    return asyncio.run(go())


def test_forward_sends_the_request_with_the_consumer_parameters_and_credentials(echo: str) -> None:
    got = _forward(echo, "PUT", "a/b%2Fc", [("X-Keep", "k")], b'{"x":1}', query="p=1")
    assert got["status"] == 200 and got["method"] == "PUT"
    assert got["path"] == "/base/a/b%2Fc" and got["query"] == "p=1&v=2%20%26%203"
    headers = got["headers"]
    assert headers["x-keep"] == "k" and headers["x-tenant"] == "acme"
    assert headers["authorization"] == "Bearer tok-9" and got["body"] == {"x": 1}


def test_forward_without_a_path_targets_the_base_uri(echo: str) -> None:
    assert _forward(echo, "GET", None)["path"] == "/base"


@pytest.mark.parametrize("path", ["..", "a/../b", "a/%2e%2E/b", "./a"])
def test_forward_refuses_dot_segments(echo: str, path: str) -> None:
    with pytest.raises(InvalidInputError, match="'.' or '..' segments"):
        _forward(echo, "GET", path)
