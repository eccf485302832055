"""Consumed APIs behind OAuth2 client credentials (``authentication: {type: oauth2, clientId, clientSecret}``).

``naftiko serve`` exposes three REST routes, each calling its own consumer of the same protected upstream;
the local authorization server issues the tokens and counts the token requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .oauth_server import AuthServer, auth_server
from .support import free_port, naftiko_process, run_asgi

pytestmark = pytest.mark.e2e

SECRET = "s3cret-runtime-7f2a"

CONSUMER = """\
  - type: http
    namespace: NAME
    baseUri: UPSTREAM
    authentication:
      type: oauth2
      authorizationServerUri: ISSUER
      resource: UPSTREAM
      scopes: [ledger:read, ledger:write]
      clientId: runtime
      clientSecret: "{{CLIENT_SECRET}}"
    resources:
    - name: entries
      path: /entries/{id}
      operations:
      - {name: get-entry, method: GET, inputParameters: [{name: id, in: path}]}
"""

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Ledger client, description: consumes an OAuth2-protected API}
binds:
- namespace: env
  keys: {CLIENT_SECRET: CLIENT_SECRET}
capability:
  consumes:
CONSUMERS
  exposes:
  - type: rest
    namespace: api
    port: PORT
    resources:
    - path: /burst/{id}
      operations: [{method: GET, name: burst, call: burst.get-entry}]
    - path: /expiry/{id}
      operations: [{method: GET, name: expiry, call: expiry.get-entry}]
    - path: /retry/{id}
      operations: [{method: GET, name: retry, call: retry.get-entry}]
"""


@dataclass
class Ledger:
    """The protected upstream: it admits a bearer JWT from the authorization server, minus revoked ones."""

    auth: AuthServer
    seen: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)

    async def entry(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        self.seen.append(token)
        try:
            kid = jwt.get_unverified_header(token)["kid"]
            key = next(k for k in self.auth.keys if k.kid == kid)
            claims = jwt.decode(token, key.private.public_key(), algorithms=["ES256"], audience=self.url)
        except (jwt.PyJWTError, StopIteration, KeyError):
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if token in self.revoked or request.path_params["id"] == "always-401":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"id": request.path_params["id"], "scope": claims["scope"]})

    url = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/entries/{id}", self.entry)])


@dataclass
class Deployment:
    auth: AuthServer
    ledger: Ledger
    api: str
    log: list[str]

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.api + path, timeout=20)


def naftiko_serve(path: Path, port: int) -> contextlib.AbstractContextManager[list[str]]:
    return naftiko_process(path, {"CLIENT_SECRET": SECRET}, [f"http://127.0.0.1:{port}/"])


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with auth_server() as auth:
        ledger = Ledger(auth)
        with run_asgi(ledger.app()) as upstream:
            ledger.url = upstream
            port = free_port()
            consumers = "".join(CONSUMER.replace("NAME", name) for name in ("burst", "expiry", "retry"))
            text = (
                CAPABILITY.replace("CONSUMERS", consumers.rstrip("\n"))
                .replace("UPSTREAM", upstream)
                .replace("ISSUER", auth.url)
                .replace("PORT", str(port))
            )
            path = tmp_path_factory.mktemp("outbound") / "ledger.yaml"
            path.write_text(text, encoding="utf-8")
            with naftiko_serve(path, port) as log:
                yield Deployment(auth, ledger, f"http://127.0.0.1:{port}", log)
            assert not any(SECRET in line or "eyJ" in line for line in log), "\n".join(log)


def test_fifty_concurrent_calls_make_one_token_request(deployment: Deployment) -> None:
    deployment.auth.token_delay = 0.3  # every call arrives while the first token request is in flight

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as http:
            return await asyncio.gather(*(http.get(f"{deployment.api}/burst/{i}") for i in range(50)))

    try:
        responses = asyncio.run(burst())
    finally:
        deployment.auth.token_delay = 0
    assert [r.status_code for r in responses] == [200] * 50
    assert {r.json()["scope"] for r in responses} == {"ledger:read ledger:write"}
    requests = deployment.auth.token_requests
    assert len(requests) == 1
    assert requests[0] == {
        "grant_type": "client_credentials",
        "scope": "ledger:read ledger:write",
        "resource": deployment.ledger.url,
    }
    assert len(set(deployment.ledger.seen)) == 1


def test_a_token_is_fetched_again_shortly_before_it_expires(deployment: Deployment) -> None:
    before = len(deployment.auth.token_requests)
    deployment.auth.lifetime = 4  # a short-lived token is used for half its life at most: 2 s here
    try:
        assert deployment.get("/expiry/a").status_code == 200
        assert deployment.get("/expiry/b").status_code == 200
        assert len(deployment.auth.token_requests) == before + 1
        time.sleep(2.1)
        assert deployment.get("/expiry/c").status_code == 200
    finally:
        deployment.auth.lifetime = 3600
    assert len(deployment.auth.token_requests) == before + 2
    first, second = deployment.ledger.seen[-3], deployment.ledger.seen[-1]
    assert first == deployment.ledger.seen[-2] and first != second


def test_an_upstream_401_gets_one_refresh_and_one_retry(deployment: Deployment) -> None:
    assert deployment.get("/retry/warm").status_code == 200
    tokens_before = len(deployment.auth.token_requests)
    deployment.ledger.revoked.add(deployment.ledger.seen[-1])
    seen_before = len(deployment.ledger.seen)
    response = deployment.get("/retry/after-revocation")
    assert response.status_code == 200 and response.json()["id"] == "after-revocation"
    assert len(deployment.auth.token_requests) == tokens_before + 1
    assert len(deployment.ledger.seen) == seen_before + 2  # the rejected call and its retry

    # a 401 that a new token does not cure is not retried again: the upstream refused this server's
    # credential, which is no fault of the caller's (502, the upstream's status and body kept)
    seen_before = len(deployment.ledger.seen)
    response = deployment.get("/retry/always-401")
    assert response.status_code == 502, response.text
    assert response.json()["upstreamStatus"] == 401
    assert len(deployment.ledger.seen) == seen_before + 2
    assert len(deployment.auth.token_requests) == tokens_before + 2
