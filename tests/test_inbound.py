"""Inbound authentication on exposed adapters, over real HTTP."""

from __future__ import annotations

import base64

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from naftiko_runtime.errors import ConfigError
from naftiko_runtime.exposes.inbound import INBOUND, InboundAuth, protect
from naftiko_runtime.spec import model as m

from .support import run_asgi

SCOPES = [{"TOKEN": "t0ken-value", "USER": "ann"}]


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("in")


def app() -> Starlette:
    return Starlette(routes=[Route("/x", ok)])


@pytest.mark.parametrize(
    ("auth", "good", "bad"),
    [
        (
            m.AuthBearer(token="{{TOKEN}}"),
            {"Authorization": "Bearer t0ken-value"},
            {"Authorization": "Bearer nope"},
        ),
        (
            m.AuthBasic(username="{{USER}}", password="{{TOKEN}}"),
            {"Authorization": "Basic " + base64.b64encode(b"ann:t0ken-value").decode()},
            {"Authorization": "Basic " + base64.b64encode(b"ann:wrong").decode()},
        ),
        (
            m.AuthApiKey(key="X-Key", value="{{TOKEN}}", placement="header"),
            {"X-Key": "t0ken-value"},
            {"X-Key": "x"},
        ),
    ],
)
def test_credentials_are_checked(auth: m.Authentication, good: dict[str, str], bad: dict[str, str]) -> None:
    with run_asgi(InboundAuth(app(), auth, SCOPES, realm="demo")) as url:
        assert httpx.get(url + "/x", headers=good).text == "in"
        for headers in (bad, {}):
            r = httpx.get(url + "/x", headers=headers)
            assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
            assert "www-authenticate" in r.headers and "t0ken-value" not in r.text


def test_apikey_in_query() -> None:
    auth = m.AuthApiKey(key="api_key", value="{{TOKEN}}", placement="query")
    with run_asgi(InboundAuth(app(), auth, SCOPES, realm="demo")) as url:
        assert httpx.get(url + "/x?api_key=t0ken-value").status_code == 200
        assert httpx.get(url + "/x?api_key=other").status_code == 401


def test_unenforceable_and_empty_credentials_are_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(INBOUND, "digest")  # every alpha2 type has a row: take one away
    adapter = m.ExposesRest(namespace="x", port=1, authentication=m.AuthDigest(username="ann", password="pw"))
    with pytest.raises(ConfigError, match="digest inbound authentication is not supported"):
        protect(app(), adapter, SCOPES)
    with pytest.raises(ConfigError, match="renders empty"):
        InboundAuth(app(), m.AuthBearer(token=""), SCOPES, realm="x")
