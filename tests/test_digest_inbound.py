"""Inbound HTTP Digest (RFC 7616) over real HTTP, answered by httpx's and aiohttp's digest clients."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time

import aiohttp
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from naftiko_runtime.errors import ConfigError
from naftiko_runtime.exposes.digest import DigestAuth, parse_params
from naftiko_runtime.exposes.inbound import protect
from naftiko_runtime.spec import model as m

from .support import run_asgi

USER, PASSWORD, REALM = "ann", "pa55-w0rd-d1gest", "ledger"


async def ok(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "authorization": request.headers.get("authorization")})


def guarded(**options: object) -> DigestAuth:
    app = Starlette(routes=[Route("/entries/{id}", ok)])
    return DigestAuth(app, USER, PASSWORD, realm=REALM, **options)  # type: ignore[arg-type]


def challenge(response: httpx.Response) -> dict[str, str]:
    scheme, _, rest = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Digest"
    return parse_params(rest)


def answer(
    challenged: dict[str, str], *, method: str, uri: str, password: str = PASSWORD, algorithm: str = "SHA-256"
) -> str:
    """A Digest response computed by hand (RFC 7616 §3.4.1), for the cases clients never produce."""

    def h(text: str) -> str:
        fn = hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5
        return fn(text.encode()).hexdigest()

    nonce, nc, cnonce = challenged["nonce"], "00000001", "c0ffee"
    response = h(f"{h(f'{USER}:{REALM}:{password}')}:{nonce}:{nc}:{cnonce}:auth:{h(f'{method}:{uri}')}")
    return (
        f'Digest username="{USER}", realm="{REALM}", nonce="{nonce}", uri="{uri}", algorithm={algorithm}, '
        f'qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}"'
    )


def test_no_credentials_get_a_sha256_challenge() -> None:
    with run_asgi(guarded()) as url:
        response = httpx.get(url + "/entries/1")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "this API requires digest authentication: credentials are missing"
    params = challenge(response)
    assert params["realm"] == REALM and params["qop"] == "auth" and params["algorithm"] == "SHA-256"
    assert "stale" not in params


def test_httpx_and_aiohttp_digest_clients_get_in_with_the_right_password_only() -> None:
    with run_asgi(guarded()) as url:
        good = httpx.get(url + "/entries/7?full=1", auth=httpx.DigestAuth(USER, PASSWORD))
        bad = httpx.get(url + "/entries/7", auth=httpx.DigestAuth(USER, "wrong"))
        stranger = httpx.get(url + "/entries/7", auth=httpx.DigestAuth("bob", PASSWORD))

        async def with_aiohttp() -> int:
            middleware = aiohttp.DigestAuthMiddleware(USER, PASSWORD)
            async with aiohttp.ClientSession(middlewares=(middleware,)) as session:
                async with session.get(url + "/entries/8") as resp:
                    return resp.status

        status = asyncio.run(with_aiohttp())
    assert good.status_code == 200 and good.json()["path"] == "/entries/7"
    assert re.search(r'response="[0-9a-f]{64}"', good.json()["authorization"])  # it answered with SHA-256
    assert bad.status_code == 401 and stranger.status_code == 401
    assert bad.json()["detail"].endswith("credentials are not valid")
    assert status == 200


def test_md5_answers_are_accepted_and_every_field_is_checked() -> None:
    with run_asgi(guarded()) as url:
        challenged = challenge(httpx.get(url + "/entries/1"))

        def get(path: str, authorization: str) -> int:
            return httpx.get(url + path, headers={"Authorization": authorization}).status_code

        assert get("/entries/1", answer(challenged, method="GET", uri="/entries/1", algorithm="MD5")) == 200
        assert get("/entries/1", answer(challenged, method="GET", uri="/entries/1")) == 200
        # the response is bound to the method, the request target and the password
        assert get("/entries/1", answer(challenged, method="POST", uri="/entries/1")) == 401
        assert get("/entries/2", answer(challenged, method="GET", uri="/entries/1")) == 401
        assert get("/entries/1", answer(challenged, method="GET", uri="/entries/1", password="x")) == 401
        forged = dict(challenged, nonce=challenged["nonce"][:-4] + "AAAA")
        assert get("/entries/1", answer(forged, method="GET", uri="/entries/1")) == 401
        unknown = answer(challenged, method="GET", uri="/entries/1").replace("SHA-256", "SHA-512-256")
        assert get("/entries/1", unknown) == 401


def test_an_old_nonce_is_stale_and_the_client_retries_with_a_new_one() -> None:
    middleware = guarded()
    old = {"nonce": middleware.nonce(issued=time.time() - 600)}
    with run_asgi(middleware) as url:
        response = httpx.get(
            url + "/entries/1", headers={"Authorization": answer(old, method="GET", uri="/entries/1")}
        )
        assert response.status_code == 401
        params = challenge(response)
        assert params["stale"] == "true" and params["nonce"] != old["nonce"]
        assert "expired" in response.json()["detail"]
        assert httpx.get(url + "/entries/1", auth=httpx.DigestAuth(USER, PASSWORD)).status_code == 200


def test_nonces_are_accepted_by_every_worker_with_the_same_credentials() -> None:
    first, second = guarded(), guarded()
    challenged = {"nonce": first.nonce()}
    with run_asgi(second) as url:
        authorization = answer(challenged, method="GET", uri="/entries/3")
        assert httpx.get(url + "/entries/3", headers={"Authorization": authorization}).status_code == 200


def test_an_adapter_declaring_digest_is_guarded_with_its_bound_credentials() -> None:
    auth = m.AuthDigest(username="{{DIGEST_USER}}", password="{{DIGEST_PASSWORD}}")
    adapter = m.ExposesMcp(namespace="ledger", port=1, authentication=auth)
    scopes = [{"DIGEST_USER": USER, "DIGEST_PASSWORD": PASSWORD}]
    app = Starlette(routes=[Route("/entries/{id}", ok)])
    with run_asgi(protect(app, adapter, scopes)) as url:
        refused = httpx.get(url + "/entries/1")
        admitted = httpx.get(url + "/entries/1", auth=httpx.DigestAuth(USER, PASSWORD))
    assert refused.status_code == 401 and challenge(refused)["realm"] == "ledger"
    assert (
        refused.json()["detail"] == "this MCP server requires digest authentication: credentials are missing"
    )
    assert admitted.status_code == 200
    with pytest.raises(ConfigError, match="renders empty"):
        protect(app, adapter, [{"DIGEST_USER": USER, "DIGEST_PASSWORD": ""}])
