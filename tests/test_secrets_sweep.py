"""The secrets sweep: bound values travel as a path segment, a query value, a bearer token and basic
credentials to an upstream that echoes everything back; every error path is exercised over REST and MCP,
and no bound value, in any encoding, appears in a response, a problem, an MCP result, ``/openapi.json``
or the log."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from mcp import Client

from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_text

from .conftest import serve_app
from .support import free_port

SECRETS = {
    "PATH_KEY": "p/a+t=h&k ey",
    "QUERY_KEY": "q/u+e=r&y?k",
    "TOKEN": 'tok/en+=&"x',
    "USER": "svc-user",
    "PASSWORD": "pa:ss/w+o=r&d",
}

DOCUMENT = """\
naftiko: 1.0.0-alpha2
info: {label: Sweep, description: Secrets sweep}
binds:
- namespace: env
  keys: {PATH_KEY: PATH_KEY, QUERY_KEY: QUERY_KEY, TOKEN: TOKEN, USER: USER, PASSWORD: PASSWORD}
capability:
  consumes:
  - type: http
    namespace: keyed
    baseUri: http://upstream.invalid
    authentication: {type: bearer, token: "{{TOKEN}}"}
    resources:
    - name: events
      path: /e/{key}
      operations:
      - name: send
        method: POST
        inputParameters:
        - {name: key, in: path, value: "{{PATH_KEY}}"}
        - {name: k, in: query, value: "{{QUERY_KEY}}"}
        - {name: x-echo-status, in: header}
        - {name: x-echo-delay, in: header}
        - {name: payload, in: body}
  - type: http
    namespace: basic
    baseUri: http://upstream.invalid
    authentication: {type: basic, username: "{{USER}}", password: "{{PASSWORD}}"}
    resources:
    - name: things
      path: /things/{id}
      operations:
      - name: get
        method: GET
        inputParameters: [{name: x-echo-status, in: header}]
  exposes:
  - type: rest
    namespace: sweep-rest
    port: 8080
    resources:
    - path: /send
      operations: [{method: POST, call: keyed.send}]
    - path: /things/{id}
      operations: [{method: GET, call: basic.get}]
    - path: /proxy/{{path}}
      forward: {targetNamespace: keyed, trustedHeaders: [x-echo-status]}
  - type: mcp
    namespace: sweep-mcp
    port: 9090
    transport: http
    tools:
    - name: send
      description: Send.
      call: keyed.send
      inputParameters:
      - {name: payload, type: object, required: false, description: Anything.}
      - {name: status, type: string, required: false, description: Upstream status.}
      with: {x-echo-status: tools.status}
    - name: thing
      description: A thing.
      call: basic.get
      inputParameters:
      - {name: id, type: string, description: Its id.}
      - {name: status, type: string, required: false, description: Upstream status.}
      with: {x-echo-status: tools.status}
"""


def encodings(value: str) -> set[str]:
    """Every form a value can take on the wire, computed here independently of the redactor."""
    return {
        value,
        quote(value, safe=""),
        quote(value, safe="/"),
        quote(value, safe="~!$&'()*+,;=:@"),
        quote_plus(value),
        json.dumps(value)[1:-1],
        base64.b64encode(value.encode()).decode(),
    }


def test_no_bound_value_leaks_through_any_error_path(echo: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    doc = load_text(DOCUMENT, "sweep.yaml").require()
    dead = f"http://127.0.0.1:{free_port()}"
    seen: list[str] = []

    def serve(kind: str, upstreams: dict[str, str]) -> Any:
        cap = capability(doc.file, doc, SECRETS, upstreams)
        runtime = build_runtime(cap, Timeouts(connect=1, total=1))
        adapter = next(a for a in cap.exposes if a.type == kind)
        assert isinstance(adapter, m.ExposesRest | m.ExposesMcp)
        return serve_app(build_app(adapter, runtime, host="127.0.0.1", port=0), runtime)

    def record(response: httpx.Response) -> None:
        seen.append(f"{response.status_code} {dict(response.headers)} {response.text}")

    exchanges = 0
    for upstreams in ({"keyed": echo, "basic": echo}, {"keyed": dead, "basic": dead}):
        with serve("rest", upstreams) as url, httpx.Client(base_url=url, timeout=10) as client:
            record(client.get("/openapi.json"))
            for status in ("200", "404", "429", "500", "503"):
                headers = {"x-echo-status": status}
                record(client.post("/send", json={"payload": {"echo": True}}, headers=headers))
                record(client.get("/things/1", headers=headers))
                record(client.post("/proxy/anything", json={}, headers=headers))
                exchanges += 3
            record(client.post("/send", json={"payload": 1}, headers={"x-echo-delay": "2"}))  # timeout
            record(client.post("/send", content=b"{oops", headers={"content-type": "application/json"}))
            exchanges += 2

        async def mcp_calls(url: str) -> list[str]:
            out = []
            async with Client(url + "/mcp") as session:
                for status in ("200", "404", "500", "503"):
                    for name, args in (("send", {"payload": {"a": 1}}), ("thing", {"id": "1"})):
                        result = await session.call_tool(name, {**args, "status": status})
                        out.append(json.dumps(result.model_dump(mode="json")))
            return out

        with serve("mcp", upstreams) as url:
            results = asyncio.run(mcp_calls(url))
            seen.extend(results)
            exchanges += len(results)
    seen.append(caplog.text)
    everything = "\n".join(seen)
    assert exchanges == 50 and "***" in everything  # the echo did carry secrets back, and they were masked
    secrets = [*SECRETS.values(), f"{SECRETS['USER']}:{SECRETS['PASSWORD']}"]
    leaks = sorted({form for s in secrets for form in encodings(s) if len(form) >= 4 and form in everything})
    assert leaks == []
