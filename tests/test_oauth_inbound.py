"""Adapters declared with ``authentication: {type: oauth2}`` are OAuth 2.1 protected resources.

A local authorization server (``oauth_server``), the echo upstream and ``naftiko serve`` all run on
127.0.0.1; requests go over HTTP to the REST and the MCP adapter alike.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from .oauth_server import AuthServer, SigningKey, auth_server
from .support import free_port, naftiko_process, run_asgi
from .upstreams import echo_app

pytestmark = pytest.mark.e2e

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Protected, description: OAuth-protected adapters}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: ECHO
    resources:
    - name: any
      path: /any/{rest}
      operations:
      - {name: get-any, method: GET, inputParameters: [{name: rest, in: path}]}
  exposes:
  - type: rest
    namespace: api
    port: REST_PORT
    authentication:
      type: oauth2
      authorizationServerUri: ISSUER
      resource: http://127.0.0.1:REST_PORT
      scopes: [echo:read]
    resources:
    - path: /any/{rest}
      operations: [{method: GET, name: get-any, call: echo.get-any}]
  - type: rest
    namespace: introspected
    port: INTROSPECTED_PORT
    authentication:
      type: oauth2
      authorizationServerUri: ISSUER
      resource: http://127.0.0.1:INTROSPECTED_PORT
      scopes: [echo:read]
      tokenValidation: introspection
      clientId: runtime
      clientSecret: "{{RS_SECRET}}"
    resources:
    - path: /any/{rest}
      operations: [{method: GET, name: get-any, call: echo.get-any}]
  - type: mcp
    namespace: tools
    port: MCP_PORT
    authentication:
      type: oauth2
      authorizationServerUri: ISSUER
      resource: http://127.0.0.1:MCP_PORT/mcp
      scopes: [echo:read]
    tools:
    - name: echo
      description: Echo a path.
      inputParameters: [{name: rest, type: string, description: a path segment}]
      call: echo.get-any
binds:
- namespace: env
  keys: {RS_SECRET: RS_SECRET}
"""

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


@dataclass
class Deployment:
    auth: AuthServer
    rest: str
    mcp: str
    introspected: str

    def rest_get(self, token: str | None, path: str = "/any/x", base: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get((base or self.rest) + path, headers=headers, timeout=10)

    def mcp_post(self, token: str | None, body: Any = LIST_TOOLS) -> httpx.Response:
        headers = dict(MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {}))
        return httpx.post(self.mcp, json=body, headers=headers, timeout=10)

    def good(self, **claims: Any) -> dict[str, str]:
        """A valid token for each adapter, by adapter."""
        base: dict[str, Any] = {"scope": "echo:read"}
        base.update(claims)
        return {
            "rest": self.auth.mint(aud=self.rest, **base),
            "mcp": self.auth.mint(aud=self.mcp, **base),
        }

    def call(self, adapter: str, token: str | None) -> httpx.Response:
        return self.rest_get(token) if adapter == "rest" else self.mcp_post(token)


def capability(folder: Path, auth: AuthServer, echo: str) -> tuple[Path, list[int]]:
    ports = {name: free_port() for name in ("INTROSPECTED_PORT", "REST_PORT", "MCP_PORT")}
    text = CAPABILITY.replace("ECHO", echo).replace("ISSUER", auth.url)
    for name, port in ports.items():
        text = text.replace(name, str(port))
    path = folder / "protected.yaml"
    path.write_text(text, encoding="utf-8")
    return path, list(ports.values())


def naftiko_serve(path: Path, *ports: int) -> contextlib.AbstractContextManager[list[str]]:
    probes = [f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource" for port in ports]
    return naftiko_process(path, {"RS_SECRET": "s3cret-runtime-7f2a"}, probes)


@pytest.fixture(scope="module")
def jwks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The authorization server, the echo upstream, and one ``naftiko serve`` with three protected adapters:
    REST and MCP checking JWTs against the JWKS, and REST asking the introspection endpoint."""
    with auth_server() as auth, run_asgi(echo_app()) as echo:
        path, (introspected, rest, mcp) = capability(tmp_path_factory.mktemp("oauth"), auth, echo)
        with naftiko_serve(path, introspected, rest, mcp) as log:
            yield Deployment(
                auth,
                f"http://127.0.0.1:{rest}",
                f"http://127.0.0.1:{mcp}/mcp",
                f"http://127.0.0.1:{introspected}",
            )
        # tokens are never logged, whatever happened
        assert not any("eyJ" in line for line in log), "\n".join(log)


def challenge(response: httpx.Response) -> dict[str, str]:
    header = response.headers["www-authenticate"]
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


# --- metadata and challenges ---------------------------------------------------------------------------


def test_protected_resource_metadata_is_published_at_both_well_known_forms(jwks: Deployment) -> None:
    for base, resource in ((jwks.rest, jwks.rest), (jwks.mcp.removesuffix("/mcp"), jwks.mcp)):
        suffix = urlsplit(resource).path
        for path in {
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource" + suffix,
        }:
            response = httpx.get(base + path)
            assert response.status_code == 200, path
            assert response.json() == {
                "resource": resource,
                "authorization_servers": [jwks.auth.url],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["echo:read"],
            }


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
def test_no_token_is_401_naming_the_metadata(jwks: Deployment, adapter: str) -> None:
    response = jwks.call(adapter, None)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    params = challenge(response)
    assert "error" not in params and params["scope"] == "echo:read"
    resource = jwks.rest if adapter == "rest" else jwks.mcp
    metadata = params["resource_metadata"]
    parts = urlsplit(resource)
    assert metadata == f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"
    assert httpx.get(metadata).json()["resource"] == resource


def _bad_tokens(d: Deployment, adapter: str) -> dict[str, str]:
    aud = d.rest if adapter == "rest" else d.mcp
    stranger = SigningKey("k1")  # same kid as the server's key, different key: the signature fails
    return {
        "expired": d.auth.mint(aud=aud, scope="echo:read", exp=int(time.time()) - 120),
        "wrong issuer": d.auth.mint(aud=aud, scope="echo:read", iss="http://127.0.0.1:1"),
        "wrong audience": d.auth.mint(aud="http://elsewhere.example", scope="echo:read"),
        "bad signature": d.auth.mint(key=stranger, aud=aud, scope="echo:read"),
        "unknown kid": d.auth.mint(key=SigningKey("never-published"), aud=aud, scope="echo:read"),
        "not a JWT": "opaque-token-value",
    }


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
def test_invalid_tokens_are_401_invalid_token(jwks: Deployment, adapter: str) -> None:
    reasons = {}
    for case, token in _bad_tokens(jwks, adapter).items():
        response = jwks.call(adapter, token)
        assert response.status_code == 401, case
        params = challenge(response)
        assert params["error"] == "invalid_token", case
        assert params["resource_metadata"].startswith("http://127.0.0.1:"), case
        reasons[case] = params["error_description"]
        assert token not in response.text
    assert reasons["expired"] == "the access token has expired"
    assert reasons["wrong issuer"] == f"the access token was not issued by {jwks.auth.url}"
    assert reasons["wrong audience"] == "the access token was issued for another audience"
    assert reasons["bad signature"] == "the access token's signature does not verify"
    assert "does not publish" in reasons["unknown kid"]


@pytest.mark.parametrize("adapter", ["rest", "mcp"])
def test_missing_scope_is_403_insufficient_scope(jwks: Deployment, adapter: str) -> None:
    response = jwks.call(adapter, jwks.good(scope="other")[adapter])
    assert response.status_code == 403
    params = challenge(response)
    assert params["error"] == "insufficient_scope" and params["scope"] == "echo:read"


def test_a_valid_token_reaches_the_upstream_without_the_token(jwks: Deployment) -> None:
    token = jwks.good()["rest"]
    response = jwks.rest_get(token, "/any/hello")
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["path"] == "/any/hello"
    assert "authorization" not in seen["headers"] and token not in response.text


def test_a_valid_token_lets_the_mcp_client_call_a_tool_and_the_upstream_never_sees_it(
    jwks: Deployment,
) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    token = jwks.good()["mcp"]

    async def go() -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            async with Client(streamable_http_client(jwks.mcp, http_client=http)) as client:
                return await client.call_tool("echo", {"rest": "via-mcp"})

    result = anyio.run(go)
    assert not result.is_error
    seen = result.structured_content
    assert seen["path"] == "/any/via-mcp"
    assert "authorization" not in seen["headers"] and token not in json.dumps(seen)


def test_a_rotated_signing_key_is_picked_up(jwks: Deployment) -> None:
    assert jwks.rest_get(jwks.good()["rest"]).status_code == 200
    fetches = jwks.auth.jwks_fetches
    jwks.auth.rotate()  # the old key stays published, the new one signs from now on
    time.sleep(1.1)  # the key set is fetched again at most once a second
    token = jwks.good()["rest"]
    assert jwks.rest_get(token).status_code == 200
    assert jwks.auth.jwks_fetches == fetches + 1
    assert jwks.rest_get(token).status_code == 200
    assert jwks.auth.jwks_fetches == fetches + 1  # known now: no fetch


# --- introspection -------------------------------------------------------------------------------------


def test_introspection_admits_active_tokens_and_caches_the_answer(jwks: Deployment) -> None:
    base = jwks.introspected
    token = jwks.auth.mint(aud=base, scope="echo:read")
    before = jwks.auth.introspections
    for _ in range(3):
        response = jwks.rest_get(token, base=base)
        assert response.status_code == 200 and "authorization" not in response.json()["headers"]
    assert jwks.auth.introspections == before + 1
    inactive = jwks.auth.mint(key=SigningKey("gone"), aud=base, scope="echo:read")
    response = jwks.rest_get(inactive, base=base)
    assert response.status_code == 401 and challenge(response)["error"] == "invalid_token"
    assert challenge(response)["error_description"] == "the access token is not active"
    assert jwks.rest_get(jwks.auth.mint(aud=base, scope="other"), base=base).status_code == 403
    elsewhere = jwks.auth.mint(aud="http://elsewhere.example", scope="echo:read")
    assert jwks.rest_get(elsewhere, base=base).status_code == 401


# --- an MCP client doing the whole flow ----------------------------------------------------------------


def test_the_mcp_sdk_oauth_client_completes_the_flow(jwks: Deployment) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.auth import OAuthClientProvider
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import (
        AuthorizationCodeResult,
        OAuthClientInformationFull,
        OAuthClientMetadata,
        OAuthToken,
    )

    class Memory:
        def __init__(self) -> None:
            self.tokens: OAuthToken | None = None
            self.client: OAuthClientInformationFull | None = None

        async def get_tokens(self) -> OAuthToken | None:
            return self.tokens

        async def set_tokens(self, tokens: OAuthToken) -> None:
            self.tokens = tokens

        async def get_client_info(self) -> OAuthClientInformationFull | None:
            return self.client

        async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
            self.client = client_info

    redirect = "http://127.0.0.1:9/callback"
    landed: dict[str, str] = {}

    async def open_browser(url: str) -> None:  # the "user" approves at once
        async with httpx2.AsyncClient() as http:
            location = (await http.get(url)).headers["location"]
        assert location.startswith(redirect)
        landed.update({k: v[0] for k, v in parse_qs(urlsplit(location).query).items()})

    async def callback() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=landed["code"], state=landed["state"])

    storage = Memory()
    provider = OAuthClientProvider(
        server_url=jwks.mcp,
        client_metadata=OAuthClientMetadata(
            client_name="test client",
            redirect_uris=[redirect],  # type: ignore[list-item]
            grant_types=["authorization_code"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=callback,
    )

    async def go() -> Any:
        async with httpx2.AsyncClient(auth=provider, timeout=10) as http:
            async with Client(streamable_http_client(jwks.mcp, http_client=http)) as client:
                tools = await client.list_tools()
                result = await client.call_tool("echo", {"rest": "after-oauth"})
                return tools, result

    tools, result = anyio.run(go)
    assert [t.name for t in tools.tools] == ["echo"]
    assert result.structured_content["path"] == "/any/after-oauth"
    assert storage.tokens is not None and storage.tokens.scope == "echo:read"
    assert storage.client is not None and storage.client.client_id.startswith("dyn-")
