"""Inbound authentication for exposed adapters (``exposes[].authentication``).

:data:`INBOUND` maps each auth ``type`` this runtime enforces to the guard wrapping the adapter's app.
The credential schemes (:data:`CREDENTIALS`: bearer, basic, apikey) compile the expected credential
once at start-up from the binds, where a request presents it and the ``WWW-Authenticate`` challenge;
every comparison is constant-time, and a request without valid credentials gets a 401 problem before it
reaches the adapter.

``digest`` runs the RFC 7616 nonce exchange (:mod:`.digest`); ``oauth2`` makes the adapter an OAuth 2.1
protected resource (:mod:`.resource_server`, imported only when an adapter declares it). A type with no
row cannot be enforced: :func:`check_authentication` reports it at load, and :func:`protect` refuses it
with a :class:`ConfigError`, so such an adapter is never served open.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ConfigError
from ..expressions import compile_template
from ..observability import hooks
from ..problem import Problem, ProblemResponse
from ..spec import model as m
from ..spec.checks import Check
from ..spec.findings import Path

Render = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Credential:
    """One adapter's compiled check: what to expect, how to read what a request presents, the challenge."""

    expected: bytes
    presented: Callable[[Scope], bytes | None]
    challenge: str

    def admits(self, scope: Scope) -> tuple[bool, bool]:
        """(admitted, credentials were presented at all)."""
        given = self.presented(scope)
        if given is None:
            return False, False
        return hmac.compare_digest(given, self.expected), True


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _authorization(scheme: bytes) -> Callable[[Scope], bytes | None]:
    """The token after ``Authorization: <scheme>`` (the scheme is case-insensitive)."""

    def read(scope: Scope) -> bytes | None:
        value = _header(scope, b"authorization")
        if value is None:
            return None
        given, _, token = value.partition(b" ")
        return token.strip() if given.lower() == scheme else None

    return read


def _bearer(auth: m.AuthBearer, render: Render, realm: str) -> Credential:
    return Credential(render(auth.token).encode(), _authorization(b"bearer"), f'Bearer realm="{realm}"')


def _basic(auth: m.AuthBasic, render: Render, realm: str) -> Credential:
    token = _authorization(b"basic")

    def read(scope: Scope) -> bytes | None:
        encoded = token(scope)
        if encoded is None:
            return None
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return b""  # presented, and wrong

    username, password = render(auth.username), render(auth.password)
    expected = f"{username}:{password}".encode() if username or password else b""
    return Credential(expected, read, f'Basic realm="{realm}", charset="UTF-8"')


def _apikey(auth: m.AuthApiKey, render: Render, realm: str) -> Credential:
    key = render(auth.key)
    read: Callable[[Scope], bytes | None]
    if auth.placement == "query":

        def read(scope: Scope) -> bytes | None:
            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            for name, value in parse_qsl(query):
                if name == key:
                    return value.encode("utf-8")
            return None

    else:
        header = key.lower().encode("latin-1")

        def read(scope: Scope) -> bytes | None:
            return _header(scope, header)

    return Credential(render(auth.value).encode(), read, f'ApiKey realm="{realm}"')


#: credential schemes: auth ``type`` -> compile(auth, render, realm)
CREDENTIALS: Mapping[str, Callable[[Any, Render, str], Credential]] = {
    "bearer": _bearer,
    "basic": _basic,
    "apikey": _apikey,
}


Scopes = Sequence[Mapping[str, Any]]
#: wrap(app, adapter, auth, bind scopes) -> the app admitting only authenticated requests
Guard = Callable[[ASGIApp, m.Exposes, Any, Scopes], ASGIApp]


def _credential_guard(app: ASGIApp, adapter: m.Exposes, auth: Any, scopes: Scopes) -> ASGIApp:
    return InboundAuth(app, auth, scopes, realm=adapter.namespace or adapter.type, mcp=adapter.type == "mcp")


def _oauth2_guard(app: ASGIApp, adapter: m.Exposes, auth: m.AuthOAuth2, scopes: Scopes) -> ASGIApp:
    from .resource_server import ResourceServer, build_verifier

    def optional(text: str | None, what: str) -> str | None:
        return compile_template(text).render(scopes, what=what) if text else None

    verifier = build_verifier(
        auth,
        client_id=optional(auth.client_id, "inbound oauth2 clientId"),
        client_secret=optional(auth.client_secret, "inbound oauth2 clientSecret"),
    )
    return ResourceServer(app, auth, verifier, mcp=adapter.type == "mcp")


def _digest_guard(app: ASGIApp, adapter: m.Exposes, auth: m.AuthDigest, scopes: Scopes) -> ASGIApp:
    from .digest import DigestAuth

    def render(text: str) -> str:
        return compile_template(text).render(scopes, what="inbound digest credential")

    username, password = render(auth.username), render(auth.password)
    if not username or not password:
        raise ConfigError("the inbound digest credential renders empty; refusing to serve")
    realm = adapter.namespace or adapter.type
    return DigestAuth(app, username, password, realm=realm, mcp=adapter.type == "mcp")


#: auth ``type`` -> its guard; a type with no row is refused, never served open
INBOUND: Mapping[str, Guard] = {
    **{kind: _credential_guard for kind in CREDENTIALS},
    "digest": _digest_guard,
    "oauth2": _oauth2_guard,
}


def _unenforceable(kind: str) -> str:
    enforced = ", ".join(sorted(INBOUND))
    return (
        f"{kind} inbound authentication is not supported by this runtime (it enforces {enforced}); "
        "the adapter is refused rather than served unprotected"
    )


def check_authentication(auth: m.Authentication | None, adapter_path: Path) -> Iterator[Check]:
    """The load-time finding for an inbound authentication this runtime cannot enforce."""
    if auth is not None and auth.type not in INBOUND:
        yield ("error", (*adapter_path, "authentication", "type"), _unenforceable(auth.type), False)


class InboundAuth:
    """ASGI middleware that admits a request only with the adapter's credentials (:data:`CREDENTIALS`)."""

    def __init__(
        self,
        app: ASGIApp,
        auth: m.Authentication,
        scopes: Scopes,
        *,
        realm: str,
        mcp: bool = False,
    ) -> None:
        compile_credential = CREDENTIALS.get(auth.type)
        if compile_credential is None:
            raise ConfigError(
                _unenforceable(auth.type) if auth.type not in INBOUND else f"{auth.type} is not a credential"
            )

        def render(text: str) -> str:
            return compile_template(text).render(scopes, what=f"inbound {auth.type} credential")

        self.app = app
        self.kind = auth.type
        self.what = "MCP server" if mcp else "API"
        self.credential = compile_credential(auth, render, realm)
        if not self.credential.expected:
            raise ConfigError(f"the inbound {auth.type} credential renders empty; refusing to serve")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admitted, presented = self.credential.admits(scope)
        if admitted:
            await self.app(scope, receive, send)
            return
        hooks.rejected("unauthenticated")
        reason = "credentials are not valid" if presented else "credentials are missing"
        problem = Problem(
            401,
            "Unauthorized",
            f"this {self.what} requires {self.kind} authentication: {reason}",
            headers={"WWW-Authenticate": self.credential.challenge},
        )
        await ProblemResponse(problem)(scope, receive, send)


def protect(app: ASGIApp, adapter: m.Exposes, scopes: Scopes) -> ASGIApp:
    """Wrap ``app`` with the adapter's inbound authentication, if it declares one."""
    auth: m.Authentication | None = getattr(adapter, "authentication", None)
    if auth is None:
        return app
    guard = INBOUND.get(auth.type)
    if guard is None:
        raise ConfigError(_unenforceable(auth.type))
    return guard(app, adapter, auth, scopes)
