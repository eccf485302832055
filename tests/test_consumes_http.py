"""Upstream calls on the wire: placement, encoding, bodies, authentication and failures.

Every test sends real HTTP to a local upstream on 127.0.0.1 that reports what it received.
"""

from __future__ import annotations

import asyncio
import base64
import textwrap
from collections.abc import Mapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from naftiko_runtime.binds import resolve_binds
from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.engine import Outcome, Runtime
from naftiko_runtime.errors import (
    InvalidInputError,
    TemplateError,
    UpstreamPayloadError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from naftiko_runtime.spec.loader import load_text
from naftiko_runtime.spec.model import Invocable

from .support import free_port, requires_shared, run_asgi, seed_capability_text
from .upstreams import scripted_app


def capability(consumes: str, binds: str = "") -> str:
    return (
        textwrap.dedent(
            """\
        naftiko: 1.0.0-alpha2
        info: {label: t, description: t}
        """
        )
        + binds
        + "capability:\n  consumes:\n"
        + textwrap.indent(textwrap.dedent(consumes), "  ")
        + textwrap.dedent(
            """\
          exposes:
          - type: rest
            namespace: t
            port: 0
            resources:
            - path: /x
              operations:
              - method: GET
        """
        )
    )


def call(
    text: str,
    operation: str,
    inputs: Mapping[str, Any],
    upstream: str,
    *,
    environ: Mapping[str, str] | None = None,
    timeouts: Timeouts | None = None,
    with_: Mapping[str, Any] | None = None,
) -> Outcome:
    doc = load_text(text, "cap.yaml").require()
    bindings = resolve_binds(doc, environ or {})
    namespace = doc.capability.consumes[0].namespace  # type: ignore[union-attr]

    async def go() -> Outcome:
        async with Runtime(doc, bindings, upstreams={namespace: upstream}, timeouts=timeouts) as rt:
            inv = rt.invocation(
                "t", Invocable(call=f"{namespace}.{operation}", with_=with_ or {}, prefixes=("t.",))
            )
            outcome = await inv.run(inputs)
            # a JSON body with nothing to shape is passed through unparsed: read it here
            return Outcome(outcome.status, data=outcome.value()) if outcome.raw_json else outcome

    return asyncio.run(go())


API = """\
- type: http
  namespace: api
  baseUri: http://placeholder/base
  inputParameters:
  - name: X-Client
    in: header
    value: naftiko-test
  resources:
  - name: things
    path: /things/{{thingId}}/parts/{partId}
    operations:
    - name: get-part
      method: GET
      inputParameters:
      - name: q
        in: query
      - name: tags
        in: query
      - name: X-Trace
        in: header
      - name: session
        in: cookie
      - name: fixed
        in: query
        value: "v-{{thingId}}"
  - name: create
    path: /things
    operations:
    - name: create-thing
      method: POST
      inputParameters:
      - name: payload
        in: body
    - name: create-from-template
      method: PUT
      body: '{"id": "{{thingId}}", "tags": {{tags}}}'
    - name: create-json
      method: PATCH
      body:
        type: json
        data: {id: "{{thingId}}", meta: "{{meta}}", note: "id={{thingId}}"}
    - name: create-form
      method: POST
      body:
        type: formUrlEncoded
        data: {a: "{{thingId}}", b: "x y&z"}
    - name: rerun-from
      method: POST
      body:
        type: json
        data: {fromStep: {stepId: "{{step}}", input: "{{input}}"}, keep: {}, tags: []}
    - name: create-xml
      method: POST
      body:
        type: xml
        data: "<thing id='{{thingId}}'/>"
"""


def test_path_query_header_cookie_placement_and_base_path(echo: str) -> None:
    out = call(
        capability(API),
        "get-part",
        {
            "thingId": "t/1",
            "partId": "p 2",
            "q": "a&b=c",
            "tags": ["x", "y"],
            "X-Trace": "tr",
            "session": "s;1",
        },
        echo + "/base",
    )
    got = out.data
    assert out.status == 200 and got["method"] == "GET"
    assert got["path"] == "/base/things/t%2F1/parts/p%202"
    assert got["query"] == "q=a%26b%3Dc&tags=x&tags=y&fixed=v-t%2F1"
    assert got["headers"]["x-trace"] == "tr" and got["headers"]["x-client"] == "naftiko-test"
    assert got["headers"]["cookie"] == "session=s%3B1"


def test_optional_parameters_are_omitted(echo: str) -> None:
    got = call(capability(API), "get-part", {"thingId": "1", "partId": "2"}, echo).data
    assert got["query"] == "fixed=v-1" and "x-trace" not in got["headers"] and "cookie" not in got["headers"]


def test_missing_path_value_is_a_template_error_naming_it(echo: str) -> None:
    with pytest.raises(TemplateError) as info:
        call(capability(API), "get-part", {"thingId": "1"}, echo)
    assert info.value.name == "partId" and info.value.http_status == 400


def test_in_body_parameter_is_the_json_body(echo: str) -> None:
    got = call(capability(API), "create-thing", {"payload": {"name": "n", "n": [1, 2]}}, echo).data
    assert got["method"] == "POST" and got["body"] == {"name": "n", "n": [1, 2]}
    assert got["headers"]["content-type"] == "application/json"


def test_body_templates_with_their_media_types(echo: str) -> None:
    raw = call(capability(API), "create-from-template", {"thingId": "7", "tags": ["a", "b"]}, echo).data
    assert (
        raw["body"] == {"id": "7", "tags": ["a", "b"]}
        and raw["headers"]["content-type"] == "application/json"
    )
    js = call(capability(API), "create-json", {"thingId": 7, "meta": {"k": True}}, echo).data
    assert js["body"] == {"id": 7, "meta": {"k": True}, "note": "id=7"}
    form = call(capability(API), "create-form", {"thingId": "7"}, echo).data
    assert base64.b64decode(form["body_b64"]) == b"a=7&b=x+y%26z"
    assert form["headers"]["content-type"] == "application/x-www-form-urlencoded"
    xml = call(capability(API), "create-xml", {"thingId": "7"}, echo).data
    assert (
        base64.b64decode(xml["body_b64"]) == b"<thing id='7'/>"
        and xml["headers"]["content-type"] == "application/xml"
    )


def test_structured_body_leaves_out_members_whose_value_is_not_given(echo: str) -> None:
    # a member that is exactly one {{name}} is optional, like a parameter; an object emptied that way goes too
    js = call(capability(API), "create-json", {"thingId": 7}, echo).data
    assert js["body"] == {"id": 7, "note": "id=7"}
    partial = call(capability(API), "rerun-from", {"step": "ship", "input": None}, echo).data
    assert partial["body"] == {"fromStep": {"stepId": "ship"}, "keep": {}, "tags": []}
    bare = call(capability(API), "rerun-from", {}, echo).data
    assert bare["body"] == {"keep": {}, "tags": []} and bare["headers"]["content-type"] == "application/json"
    # a name inside other text is still required, and the error names it
    with pytest.raises(TemplateError) as info:
        call(capability(API), "create-json", {"meta": 1}, echo)
    assert info.value.name == "thingId"


def test_environment_parameter_feeds_templates(echo: str) -> None:
    api = """\
    - type: http
      namespace: api
      baseUri: http://h
      inputParameters:
      - name: REGION_FOR_TEST
        in: environment
      resources:
      - name: r
        path: /regions/{{REGION_FOR_TEST}}
        operations:
        - name: op
    """
    environ = {"REGION_FOR_TEST": "eu-west"}
    assert call(capability(api), "op", {}, echo, environ=environ).data["path"] == "/regions/eu-west"


AUTH = """\
- type: http
  namespace: api
  baseUri: http://h
  authentication:
{auth}
  resources:
  - name: r
    path: /r
    operations:
    - name: op
"""
BINDS = "binds:\n- namespace: env\n  keys:\n    TOKEN: TEST_TOKEN\n    USER: TEST_USER\n"


@pytest.mark.parametrize(
    ("auth", "header", "expected"),
    [
        ("    type: bearer\n    token: '{{env.TOKEN}}'", "authorization", "Bearer tok-123"),
        ("    type: bearer\n    token: '{{TOKEN}}'", "authorization", "Bearer tok-123"),
        (
            "    type: basic\n    username: '{{USER}}'\n    password: '{{TOKEN}}'",
            "authorization",
            "Basic " + base64.b64encode(b"ann:tok-123").decode(),
        ),
        (
            "    type: apikey\n    key: X-Api-Key\n    value: '{{env.TOKEN}}'\n    placement: header",
            "x-api-key",
            "tok-123",
        ),
    ],
)
def test_outbound_auth_from_binds(echo: str, auth: str, header: str, expected: str) -> None:
    got = call(
        capability(AUTH.format(auth=auth), BINDS),
        "op",
        {},
        echo,
        environ={"TEST_TOKEN": "tok-123", "TEST_USER": "ann"},
    ).data
    assert got["headers"][header] == expected


def test_apikey_in_query_is_encoded(echo: str) -> None:
    auth = "    type: apikey\n    key: api key\n    value: '{{TOKEN}}'\n    placement: query"
    got = call(
        capability(AUTH.format(auth=auth), BINDS),
        "op",
        {},
        echo,
        environ={"TEST_TOKEN": "a&b", "TEST_USER": "u"},
    ).data
    assert got["query"] == "api%20key=a%26b"


def test_a_caller_cannot_override_a_bound_credential(echo: str) -> None:
    auth = "    type: bearer\n    token: '{{TOKEN}}'"
    got = call(
        capability(AUTH.format(auth=auth), BINDS),
        "op",
        {"TOKEN": "attacker"},
        echo,
        environ={"TEST_TOKEN": "real", "TEST_USER": "u"},
    ).data
    assert got["headers"]["authorization"] == "Bearer real"


def _digest_upstream() -> Starlette:
    async def handler(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Digest "):
            return Response(
                status_code=401,
                headers={"WWW-Authenticate": 'Digest realm="t", nonce="abc123", qop="auth", algorithm=MD5'},
            )
        return JSONResponse({"authorization": auth})

    return Starlette(routes=[Route("/r", handler)])


def test_digest_auth_answers_the_challenge() -> None:
    auth = "    type: digest\n    username: '{{USER}}'\n    password: '{{TOKEN}}'"
    with run_asgi(_digest_upstream()) as url:
        got = call(
            capability(AUTH.format(auth=auth), BINDS),
            "op",
            {},
            url,
            environ={"TEST_TOKEN": "pw", "TEST_USER": "ann"},
        ).data
    assert got["authorization"].startswith('Digest username="ann", realm="t", nonce="abc123"')


FAILING = """\
- type: http
  namespace: api
  baseUri: http://h
  resources:
  - name: r
    path: /{{kind}}
    operations:
    - name: op
      inputParameters:
      - name: X-Echo-Status
        in: header
      - name: X-Echo-Delay
        in: header
"""


def _cookie_setting_upstream() -> Starlette:
    async def login(request: Request) -> Response:
        answer = JSONResponse({"cookie": request.headers.get("cookie")})
        answer.set_cookie("sid", "issued-to-the-first-caller", path="/")
        return answer

    return Starlette(routes=[Route("/login", login)])


def test_cookies_an_upstream_sets_are_not_sent_for_the_next_caller() -> None:
    # a shared cookie jar would hand one caller's upstream session to every later caller; "localhost"
    # (a host name, not an address) is where a jar would keep them
    consumes = """\
    - type: http
      namespace: api
      baseUri: http://placeholder
      resources:
      - name: login
        path: /login
        operations:
        - name: login
          method: GET
    """
    with run_asgi(_cookie_setting_upstream()) as url:
        upstream = url.replace("127.0.0.1", "localhost")
        text = capability(consumes)
        doc = load_text(text, "cap.yaml").require()

        async def twice() -> list[Any]:
            async with Runtime(doc, resolve_binds(doc, {}), upstreams={"api": upstream}) as rt:
                inv = rt.invocation("t", Invocable(call="api.login", prefixes=("t.",)))
                return [(await inv.run({})).value() for _ in range(2)]

        first, second = asyncio.run(twice())
    assert first == {"cookie": None} and second == {"cookie": None}


def test_upstream_error_status_carries_status_body_and_operation(echo: str) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        call(capability(FAILING), "op", {"kind": "a", "X-Echo-Status": "404"}, echo)
    err = info.value
    assert err.upstream_status == 404 and err.http_status == 404 and err.operation == "api.op"
    assert err.upstream_body["path"] == "/a" and "api.op returned HTTP 404" in err.detail
    with pytest.raises(UpstreamStatusError) as info:
        call(capability(FAILING), "op", {"kind": "a", "X-Echo-Status": "503"}, echo)
    assert info.value.http_status == 502


def test_upstream_timeout(echo: str) -> None:
    with pytest.raises(UpstreamTimeoutError) as info:
        call(
            capability(FAILING), "op", {"kind": "a", "X-Echo-Delay": "2"}, echo, timeouts=Timeouts(total=0.3)
        )
    assert "did not answer within 0.3 s" in str(info.value) and info.value.http_status == 504


def test_upstream_connection_refused() -> None:
    with pytest.raises(UpstreamUnavailableError) as info:
        call(capability(FAILING), "op", {"kind": "a"}, f"http://127.0.0.1:{free_port()}")
    assert "connection refused" in str(info.value) and info.value.http_status == 502


def test_upstream_body_that_is_not_json() -> None:
    app = scripted_app({"/html": (200, "text/html", "<html>oops</html>")})
    text = capability(FAILING)
    doc = load_text(text, "cap.yaml").require()

    async def go() -> None:
        async with Runtime(doc, upstreams={"api": url}) as rt:
            plain = rt.invocation("t", Invocable(call="api.op"))
            outcome = await plain.run({"kind": "html"})
            assert outcome.raw == b"<html>oops</html>"  # no outputs declared: passed through as is
            from naftiko_runtime.spec.model import OutputParameter

            shaped = rt.invocation(
                "t", Invocable(call="api.op", output_parameters=(OutputParameter("string", mapping="$.x"),))
            )
            with pytest.raises(UpstreamPayloadError, match="text/html that is not JSON"):
                await shaped.run({"kind": "html"})

    with run_asgi(app) as url:
        asyncio.run(go())


def test_required_consumed_parameter_missing_is_invalid_input(echo: str) -> None:
    api = FAILING.replace(
        "      - name: X-Echo-Delay\n        in: header\n",
        "      - name: X-Echo-Delay\n        in: header\n      - name: must\n        in: query\n"
        "        required: true\n",
    )
    with pytest.raises(InvalidInputError) as info:
        call(capability(api), "op", {"kind": "a"}, echo)
    assert info.value.parameter == "must" and "needs query parameter 'must'" in str(info.value)


@requires_shared
@pytest.mark.parametrize(
    ("operation", "inputs", "method", "path", "body"),
    [
        (
            "triggerWorkflow",
            {"eventKey": "key/../1", "body": {"name": "app/a", "data": {"x": 1}}},
            "POST",
            "/e/key%2F..%2F1",
            {"name": "app/a", "data": {"x": 1}},
        ),
        ("discoverFunctions", {}, "GET", "/v1/functions", None),
        ("getCanonicalRun", {"runId": "../../v1/admin"}, "GET", "/v2/runs/..%2F..%2Fv1%2Fadmin", None),
        ("getRunTrace", {"runId": "01H/x"}, "GET", "/v2/runs/01H%2Fx/trace", None),
        ("cancelWorkflow", {"runId": "01HRUN"}, "POST", "/v1/runs/01HRUN/cancel", None),
    ],
)
def test_seed_consumed_operations_on_the_wire(
    echo: str, operation: str, inputs: dict[str, Any], method: str, path: str, body: Any
) -> None:
    got = call(
        seed_capability_text(),
        operation,
        inputs,
        echo,
        environ={"INNGEST_SIGNING_KEY": "signkey-test-12ab", "INNGEST_EVENT_KEY": "evt"},
    ).data
    assert (got["method"], got["path"], got["body"]) == (method, path, body)
    assert got["headers"]["authorization"] == "Bearer signkey-test-12ab"
