"""Real-world files read as their authors meant, each with a warning saying what was assumed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from naftiko_runtime.binds import resolve_binds
from naftiko_runtime.engine import Runtime
from naftiko_runtime.errors import BindingError
from naftiko_runtime.spec.loader import load_file, load_text
from naftiko_runtime.spec.model import Invocable

from .conftest import ServeAdapter
from .support import run_asgi
from .test_rest import serve_rest
from .upstreams import echo_app

TEMPLATE_BASE = """\
naftiko: 1.0.0-alpha2
info: {label: Lenient, description: real files}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: "{{BASE_URL}}"
    resources: [{name: r, path: /things, operations: [{name: list, method: GET}]}]
  exposes:
  - type: rest
    namespace: rest
    port: 8080
    resources: [{path: /things, name: things, operations: [{method: GET, call: api.list}]}]
"""


def test_a_base_uri_that_is_wholly_a_template_is_read_at_start(serve_adapter: ServeAdapter) -> None:
    result = load_text(TEMPLATE_BASE, "cap.yaml")
    assert [f.format() for f in result.findings] == [
        "cap.yaml:7:14  $.capability.consumes[0].baseUri  warning: baseUri is wholly a template: BASE_URL is "
        "read from the binds or the environment at start, and must be an http(s) URL then"
    ]
    doc = result.require()
    with run_asgi(echo_app()) as up, serve_rest(serve_adapter, doc, {"BASE_URL": up + "/v1"}, {}) as client:
        assert client.get("/things").json()["path"] == "/v1/things"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "is neither a bind nor an environment variable"),
        ("ftp://files", "does not hold an http(s) URL"),
    ],
)
def test_a_template_base_uri_must_resolve_to_an_http_url(value: str | None, reason: str) -> None:
    environ = {} if value is None else {"BASE_URL": value}
    doc = load_text(TEMPLATE_BASE, "cap.yaml").require()
    with pytest.raises(BindingError, match=re.escape(f"consumes 'api': baseUri {{{{BASE_URL}}}} {reason}")):
        Runtime(doc, resolve_binds(doc, environ))


PLAIN_BODY = """\
naftiko: 1.0.0-alpha2
info: {label: Lenient, description: real files}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.invalid
    resources:
    - name: r
      path: /things
      operations:
      - name: create
        method: POST
        body: {name: "{{name}}", size: 3, tags: [a, b]}
  exposes:
  - type: mcp
    namespace: tools
    port: 9000
    tools:
    - name: make
      description: makes a thing
      inputParameters: [{name: name, type: string, description: the name}]
      call: api.create
"""


def test_a_body_given_as_a_plain_map_is_sent_as_json_data() -> None:
    import asyncio

    result = load_text(PLAIN_BODY, "cap.yaml")
    assert [f.format() for f in result.findings] == [
        "cap.yaml:14:15  $.capability.consumes[0].resources[0].operations[0].body  warning: body without "
        "'type': sent as JSON data (as if it read {type: json, data: ...})"
    ]
    doc = result.require()

    async def call(url: str) -> object:
        async with Runtime(doc, upstreams={"api": url}) as rt:
            inv = rt.invocation("t", Invocable(call="api.create"))
            return (await inv.run({"name": "box"})).value()

    with run_asgi(echo_app()) as up:
        echoed = asyncio.run(call(up))
    assert isinstance(echoed, dict)
    assert echoed["body"] == {"name": "box", "size": 3, "tags": ["a", "b"]}
    assert echoed["headers"]["content-type"] == "application/json"


OPTIONAL_WITH = """\
naftiko: 1.0.0-alpha2
info: {label: Lenient, description: real files}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.invalid
    resources:
    - name: ships
      path: /ships
      operations:
      - name: list
        method: GET
        inputParameters: [{name: status, in: query}, {name: limit, in: query}]
  exposes:
  - type: mcp
    namespace: tools
    port: 9000
    tools:
    - name: list-ships
      description: lists ships
      inputParameters:
      - {name: status, type: string, description: filter, required: false}
      - {name: limit, type: number, description: how many, required: false}
      call: api.list
      with: {status: "{{status}}", limit: "{{limit}}"}
"""


def test_with_templates_of_optional_arguments_are_omitted_when_absent() -> None:
    import asyncio

    result = load_text(OPTIONAL_WITH, "cap.yaml")
    assert result.findings == ()  # no "fixed value" warning: {{status}} is the argument itself
    doc = result.require()

    async def call(url: str, args: dict[str, object]) -> object:
        async with Runtime(doc, upstreams={"api": url}) as rt:
            inv = rt.invocation("t", doc.capability.exposes[0].tools[0].invocable)  # type: ignore[union-attr]
            return (await inv.run(args)).value()

    with run_asgi(echo_app()) as up:
        absent = asyncio.run(call(up, {}))
        present = asyncio.run(call(up, {"status": "docked", "limit": 2}))
    assert isinstance(absent, dict) and isinstance(present, dict)
    assert absent["query"] == ""
    assert present["query"] == "status=docked&limit=2"


BODYLESS = """\
naftiko: 1.0.0-alpha2
info: {label: Lenient, description: real files}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.invalid
    resources:
    - name: r
      path: /r
      operations: [{name: post, method: POST}, {name: put, method: PUT}, {name: patch, method: PATCH}]
  exposes:
  - {type: mcp, namespace: t, port: 9000, tools: [{name: t, description: d, call: api.post}]}
"""


@pytest.mark.parametrize("op", ["post", "put", "patch"])
def test_bodyless_writes_carry_no_octet_stream_content_type(op: str) -> None:
    import asyncio

    doc = load_text(BODYLESS, "cap.yaml").require()

    async def call(url: str) -> object:
        async with Runtime(doc, upstreams={"api": url}) as rt:
            inv = rt.invocation("t", Invocable(call=f"api.{op}"))
            return (await inv.run({})).value()

    with run_asgi(echo_app()) as up:
        echoed = asyncio.run(call(up))
    assert isinstance(echoed, dict)
    assert echoed["method"] == op.upper() and echoed["body"] is None
    assert "content-type" not in echoed["headers"]


def test_a_namespace_that_is_not_an_identifier_names_the_characters_at_fault() -> None:
    text = TEMPLATE_BASE.replace("namespace: api", 'namespace: "my api!"').replace(
        "namespace: rest", "namespace: rest_v2"
    )
    errors = [
        (f.json_path, f.message) for f in load_text(text, "cap.yaml").errors() if "namespace" in f.json_path
    ]
    assert errors == [
        (
            "$.capability.consumes[0].namespace",
            "namespace 'my api!' is not an identifier: ' ', '!' are not allowed "
            "(letters, digits and '-' only; calls read <namespace>.<name>)",
        ),
        (
            "$.capability.exposes[0].namespace",
            "namespace 'rest_v2' is not an identifier: '_' is not allowed "
            "(letters, digits and '-' only; calls read <namespace>.<name>)",
        ),
    ]


def test_warnings_in_an_imported_file_are_reported_at_its_own_lines(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "api.yaml").write_text(
        "naftiko: 1.0.0-alpha2\nconsumes:\n- type: http\n  namespace: api\n  baseUri: http://h\n  colour: red\n"
        "  resources: [{name: r, path: /r, operations: [{name: op, method: GET}]}]\n"
    )
    (tmp_path / "cap.yaml").write_text(
        "naftiko: 1.0.0-alpha2\ninfo: {label: L, description: d}\ncapability:\n"
        "  consumes: [{location: ./shared/api.yaml, import: api}]\n"
        "  exposes: [{type: mcp, namespace: t, port: 9000, tools: [{name: t, description: d, call: api.op}]}]\n"
    )
    result = load_file(tmp_path / "cap.yaml", display_name="cap.yaml")
    [warning] = result.warnings()
    assert warning.file.endswith("shared/api.yaml") and (warning.line, warning.column) == (6, 3)
    assert warning.message.startswith("unknown key 'colour'")
    assert result.strict().errors() == [warning.escalated()]


HEADERS_AND_BODIES = """\
naftiko: 1.0.0-alpha2
info: {label: Lenient, description: real files}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.invalid
    resources:
    - name: r
      path: /things
      operations:
      - name: list
        method: GET
        inputParameters: [{name: X-Tenant, in: header}, {name: X-Fixed, in: header, value: "1"}]
      - name: touch
        method: POST
  exposes:
  - type: rest
    namespace: rest
    port: 8080
    resources:
    - path: /things
      name: things
      operations:
      - {method: GET, call: api.list}
      - {method: POST, call: api.touch}
"""


def test_undeclared_inputs_read_the_called_operations_headers_and_bodies_are_never_dropped(
    serve_adapter: ServeAdapter,
) -> None:
    doc = load_text(HEADERS_AND_BODIES, "cap.yaml").require()
    with run_asgi(echo_app()) as up, serve_rest(serve_adapter, doc, {}, {"api": up}) as client:
        listed = client.get("/things", headers={"X-Tenant": "acme"}).json()
        touched = client.post("/things")
        refused = client.post("/things", json={"name": "box"})
    assert listed["headers"]["x-tenant"] == "acme" and listed["headers"]["x-fixed"] == "1"
    assert touched.status_code == 200 and touched.json()["method"] == "POST"
    assert refused.status_code == 400
    assert (
        refused.json()["detail"]
        == "POST /things takes no request body: api.touch sends none, so it would be lost"
    )
