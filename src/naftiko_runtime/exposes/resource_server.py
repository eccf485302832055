"""An adapter as an OAuth 2.1 protected resource (``authentication: {type: oauth2}`` on an exposes block).

The middleware publishes the resource's metadata (RFC 9728) at ``/.well-known/oauth-protected-resource``
and at the form suffixed with the resource's path, and admits a request only with a valid bearer token
(RFC 6750) carrying the declared scopes. Everything else is refused before the adapter does any work:
no or bad token → 401, missing scope → 403, each with a ``WWW-Authenticate: Bearer`` challenge that names
the metadata URL (``resource_metadata``), which is how MCP clients find the authorization server.
The token is removed from the request before the adapter sees it, so it can never be forwarded upstream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..consumes.oauth2 import AuthorizationServer
from ..observability import hooks
from ..problem import Problem, ProblemResponse
from ..spec import model as m
from .tokens import IntrospectionVerifier, JwksVerifier, TokenRejected, TokenVerifier, ValidationUnavailable

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_url(resource: str) -> str:
    """Where RFC 9728 §3.1 puts a resource's metadata: the well-known segment before the resource's path."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path.rstrip('/')}"


def build_verifier(
    auth: m.AuthOAuth2, *, client_id: str | None = None, client_secret: str | None = None
) -> TokenVerifier:
    server = AuthorizationServer(auth.authorization_server_uri)
    audiences = [auth.audience or auth.resource]
    if auth.token_validation == "introspection":
        return IntrospectionVerifier(
            server, audiences=audiences, client_id=client_id, client_secret=client_secret
        )
    return JwksVerifier(server, audiences=audiences)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "").replace('"', "'") + '"'


class ResourceServer:
    """ASGI middleware that admits a request only with a valid access token for this resource."""

    def __init__(
        self,
        app: ASGIApp,
        auth: m.AuthOAuth2,
        verifier: TokenVerifier,
        *,
        mcp: bool = False,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.required = frozenset(auth.scopes)
        self.what = "MCP server" if mcp else "API"
        self.metadata_url = metadata_url(auth.resource)
        document: dict[str, Any] = {
            "resource": auth.resource,
            "authorization_servers": [auth.authorization_server_uri],
            "bearer_methods_supported": ["header"],
        }
        if auth.scopes:
            document["scopes_supported"] = list(auth.scopes)
        self.metadata = json.dumps(document).encode()
        suffix = urlsplit(auth.resource).path.rstrip("/")
        self.metadata_paths = frozenset({WELL_KNOWN, WELL_KNOWN + suffix})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.metadata_paths and scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self._metadata(scope, send)
            return
        token, others = _bearer(scope)
        if token is None:
            await self._challenge(send, 401, None, f"this {self.what} requires an OAuth 2.1 access token")
            return
        try:
            grant = await self.verifier.verify(token)
        except TokenRejected as exc:
            await self._challenge(send, 401, "invalid_token", str(exc))
            return
        except ValidationUnavailable as exc:
            log.warning("cannot check an access token: %s", exc)
            await _problem(send, 503, "Service Unavailable", f"the access token cannot be checked now: {exc}")
            return
        missing = self.required - grant.scopes
        if missing:
            listed = " ".join(sorted(missing))
            await self._challenge(send, 403, "insufficient_scope", f"the access token lacks scope {listed}")
            return
        await self.app({**scope, "headers": others}, receive, send)

    def _closing(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.verifier.close()
            await send(message)

        return wrapped

    async def _metadata(self, scope: Scope, send: Send) -> None:
        cors = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", b"GET, OPTIONS")]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": cors})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.metadata)).encode()),
            (b"cache-control", b"max-age=300"),
            *cors,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else self.metadata
        await send({"type": "http.response.body", "body": body})

    async def _challenge(self, send: Send, status: int, error: str | None, detail: str) -> None:
        params = []
        if error is not None:
            params += [f"error={_quoted(error)}", f"error_description={_quoted(detail)}"]
        if self.required and error != "invalid_token":
            params.append(f"scope={_quoted(' '.join(sorted(self.required)))}")
        params.append(f"resource_metadata={_quoted(self.metadata_url)}")
        challenge = "Bearer " + ", ".join(params)
        title = "Forbidden" if status == 403 else "Unauthorized"
        hooks.rejected("forbidden" if status == 403 else "unauthenticated")
        await _problem(send, status, title, detail, {"WWW-Authenticate": challenge})


def _bearer(scope: Scope) -> tuple[str | None, list[tuple[bytes, bytes]]]:
    """The bearer token of the request (or None), and its headers without ``Authorization``."""
    token: str | None = None
    others: list[tuple[bytes, bytes]] = []
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, rest = value.partition(b" ")
            if token is None and scheme.lower() == b"bearer" and rest.strip():
                token = rest.strip().decode("latin-1")
            continue
        others.append((name, value))
    return token, others


async def _problem(
    send: Send, status: int, title: str, detail: str, extra: Mapping[str, str] | None = None
) -> None:
    headers = {"Cache-Control": "no-store", **(extra or {})}
    await ProblemResponse(Problem(status, title, detail, headers=headers)).emit(send)
