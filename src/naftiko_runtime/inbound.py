"""Inbound authentication for exposed adapters (``exposes[].authentication``).

bearer, apikey (header or query), basic and digest-as-basic credentials are compared in constant time
against values rendered once at start-up from the binds. A request without valid credentials gets 401
(with ``WWW-Authenticate``) before it reaches the adapter. ``oauth2`` needs a token verifier this
runtime does not have: serving such an adapter is refused at start-up rather than left open.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import ConfigError
from .expressions import compile_template
from .spec import model as m


class UnsupportedAuthentication(ConfigError):
    """The adapter's inbound authentication cannot be enforced; it is refused before anything listens."""


class InboundAuth:
    """ASGI middleware that admits a request only with the adapter's credentials."""

    def __init__(
        self,
        app: ASGIApp,
        auth: m.Authentication,
        scopes: Sequence[Mapping[str, Any]],
        *,
        realm: str,
        mcp: bool = False,
    ) -> None:
        self.app = app
        self.kind = auth.type
        self.realm = realm
        self.mcp = mcp

        def render(text: str) -> str:
            return compile_template(text).render(scopes, what=f"inbound {auth.type} credential")

        self.header = "authorization"
        self.query_key: str | None = None
        if isinstance(auth, m.AuthBearer):
            self.expected = render(auth.token).encode()
            self.challenge = f'Bearer realm="{realm}"'
        elif isinstance(auth, (m.AuthBasic, m.AuthDigest)):
            raw = f"{render(auth.username)}:{render(auth.password)}".encode()
            self.expected = raw
            self.challenge = f'Basic realm="{realm}", charset="UTF-8"'
        elif isinstance(auth, m.AuthApiKey):
            self.expected = render(auth.value).encode()
            key = render(auth.key)
            if auth.placement == "query":
                self.query_key = key
            else:
                self.header = key.lower()
            self.challenge = f'ApiKey realm="{realm}"'
        else:
            raise UnsupportedAuthentication(
                f"{auth.type} inbound authentication is not supported by this runtime; adapter not served"
            )
        if not self.expected or self.expected in (b":",):
            raise UnsupportedAuthentication(
                f"the inbound {auth.type} credential renders empty; refusing to serve"
            )

    def _presented(self, scope: Scope) -> bytes | None:
        if self.query_key is not None:
            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            for key, value in parse_qsl(query):
                if key == self.query_key:
                    return str(value).encode("utf-8")
            return None
        wanted = self.header.encode()
        for name, value in scope.get("headers", ()):
            if name == wanted:
                if self.kind == "bearer":
                    scheme, _, token = value.partition(b" ")
                    return token.strip() if scheme.lower() == b"bearer" else None
                if self.kind in ("basic", "digest"):
                    scheme, _, token = value.partition(b" ")
                    if scheme.lower() != b"basic":
                        return None
                    try:
                        return base64.b64decode(token.strip(), validate=True)
                    except ValueError:
                        return None
                return bytes(value)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = self._presented(scope)
        if presented is not None and hmac.compare_digest(presented, self.expected):
            await self.app(scope, receive, send)
            return
        await self._reject(send, missing=presented is None)

    async def _reject(self, send: Send, *, missing: bool) -> None:
        detail = "credentials are missing" if missing else "credentials are not valid"
        what = "MCP server" if self.mcp else "API"
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": f"this {what} requires {self.kind} authentication: {detail}",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"www-authenticate", self.challenge.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def protect(
    app: ASGIApp, adapter: m.ExposesRest | m.ExposesMcp, scopes: Sequence[Mapping[str, Any]]
) -> ASGIApp:
    """Wrap ``app`` with the adapter's inbound authentication, if it declares one."""
    auth = adapter.authentication
    if auth is None:
        return app
    mcp = isinstance(adapter, m.ExposesMcp)
    if isinstance(auth, m.AuthOAuth2):
        from .exposes.resource_server import ResourceServer, build_verifier

        def optional(text: str | None, what: str) -> str | None:
            return compile_template(text).render(scopes, what=what) if text else None

        verifier = build_verifier(
            auth,
            client_id=optional(auth.client_id, "inbound oauth2 clientId"),
            client_secret=optional(auth.client_secret, "inbound oauth2 clientSecret"),
        )
        return ResourceServer(app, auth, verifier, mcp=mcp)
    return InboundAuth(app, auth, scopes, realm=adapter.namespace, mcp=mcp)
