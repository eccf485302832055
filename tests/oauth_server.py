"""A small OAuth 2.1 authorization server for tests, served on 127.0.0.1.

It publishes RFC 8414 metadata, a JWKS, a token endpoint (client credentials, and authorization code with
PKCE for MCP clients that register dynamically), RFC 7662 introspection and an auto-approving authorize
endpoint. Tests mint tokens directly with :meth:`AuthServer.mint` (any claims, any key), rotate the signing
key, and read what the server was asked (``token_requests``, ``introspections``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .support import run_asgi


@dataclass
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}


@dataclass
class Client:
    client_id: str
    secret: str | None
    redirect_uris: list[str] = field(default_factory=list)


class AuthServer:
    def __init__(self) -> None:
        self.url = ""
        self.keys = [SigningKey("k1")]
        self.clients: dict[str, Client] = {"runtime": Client("runtime", "s3cret-runtime-7f2a")}
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.introspections = 0
        self.jwks_fetches = 0
        self.lifetime = 3600
        self.token_delay = 0.0
        self._lock = threading.Lock()

    # --- what tests use ---------------------------------------------------------------------------------

    @property
    def signing(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self) -> SigningKey:
        """Publish a new key and sign with it from now on; the old key stays published."""
        key = SigningKey(f"k{len(self.keys) + 1}")
        self.keys.append(key)
        return key

    def mint(self, key: SigningKey | None = None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url,
            "sub": "user-1",
            "iat": now,
            "exp": now + self.lifetime,
            "client_id": "runtime",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        key = key or self.signing
        return jwt.encode(body, key.private, algorithm="ES256", headers={"kid": kid or key.kid})

    # --- endpoints --------------------------------------------------------------------------------------

    async def metadata(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "registration_endpoint": f"{self.url}/register",
                "jwks_uri": f"{self.url}/jwks",
                "introspection_endpoint": f"{self.url}/introspect",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse({"keys": [k.public_jwk() for k in self.keys]})

    def _client(self, request: Request, form: Any) -> Client | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            client = self.clients.get(client_id)
            return client if client is not None and client.secret == secret else None
        client = self.clients.get(str(form.get("client_id", "")))
        return client if client is not None and client.secret is None else None

    async def token(self, request: Request) -> Response:
        form = await request.form()
        with self._lock:
            self.token_requests.append({k: str(v) for k, v in form.items()})
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        client = self._client(request, form)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = form.get("grant_type")
        claims: dict[str, Any] = {"client_id": client.client_id, "sub": client.client_id}
        if grant == "client_credentials":
            claims["scope"] = str(form.get("scope", ""))
            claims["aud"] = str(form.get("audience") or form.get("resource") or "")
        elif grant == "authorization_code":
            code = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            if code is None or code["challenge"] != challenge.decode():
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            claims.update(scope=code["scope"], aud=code["resource"], sub="user-1")
        else:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        token = self.mint(**claims)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "scope": claims["scope"],
            },
            headers={"Cache-Control": "no-store"},
        )

    async def introspect(self, request: Request) -> Response:
        form = await request.form()
        self.introspections += 1
        if self._client(request, form) is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        try:
            header = jwt.get_unverified_header(str(form.get("token", "")))
            key = next(k for k in self.keys if k.kid == header.get("kid"))
            claims = jwt.decode(
                str(form["token"]),
                key.private.public_key(),
                algorithms=["ES256"],
                options={"verify_aud": False},
            )
        except (jwt.PyJWTError, StopIteration, KeyError):
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, **claims})

    async def register(self, request: Request) -> Response:
        body = await request.json()
        client = Client(f"dyn-{secrets.token_hex(4)}", None, list(body.get("redirect_uris", [])))
        self.clients[client.client_id] = client
        return JSONResponse(
            {**body, "client_id": client.client_id, "token_endpoint_auth_method": "none"}, status_code=201
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        if client is None or q.get("redirect_uri") not in client.redirect_uris:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": q.get("code_challenge"),
            "scope": q.get("scope", ""),
            "resource": q.get("resource", ""),
        }
        return RedirectResponse(
            f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}"
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self.metadata),
                Route("/jwks", self.jwks),
                Route("/token", self.token, methods=["POST"]),
                Route("/introspect", self.introspect, methods=["POST"]),
                Route("/register", self.register, methods=["POST"]),
                Route("/authorize", self.authorize),
            ]
        )


@contextmanager
def auth_server() -> Iterator[AuthServer]:
    server = AuthServer()
    with run_asgi(server.app()) as url:
        server.url = url
        yield server
