"""The runtime as an OAuth 2.0 client: authorization server metadata and the client credentials grant.

:class:`AuthorizationServer` finds an issuer's metadata (RFC 8414, with the OpenID Connect discovery
locations as fallbacks) once and keeps it. :class:`ClientCredentials` holds one access token for a consumed
API: it is fetched on first use, reused until shortly before it expires, and replaced under a lock, so any
number of concurrent calls make a single token request. :class:`OAuth2Middleware` puts the token on each
upstream request and, when the upstream answers 401, refreshes it once and sends the request again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ..expressions import compile_template
from ..spec import model as m

if TYPE_CHECKING:
    import aiohttp  # imported when a session is made: the HTTP client is loaded once serving starts

#: how long before its announced expiry a token stops being used
EXPIRY_MARGIN = 30.0
#: the lifetime assumed for a token whose response has no ``expires_in``
DEFAULT_LIFETIME = 3600.0


class OAuthError(Exception):
    """The authorization server could not be used: unreachable, or it refused what we sent.

    The message names the endpoint and the OAuth error code, never a credential.
    """


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order the MCP authorization spec tries them."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if not path:
        return [
            f"{origin}/.well-known/oauth-authorization-server",
            f"{origin}/.well-known/openid-configuration",
        ]
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


def same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


async def request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """Send one request to an authorization server; return its status and decoded JSON body (or None)."""
    import aiohttp

    try:
        async with session.request(
            method, url, data=dict(form) if form is not None else None, headers=headers, allow_redirects=False
        ) as resp:
            raw = await resp.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            return resp.status, body
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise OAuthError(f"{url} cannot be reached ({type(exc).__name__})") from exc


def client_auth_header(client_id: str, client_secret: str) -> str:
    """HTTP Basic client authentication (RFC 6749 §2.3.1: both parts form-encoded first)."""
    raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def new_session(timeout: float = 10.0) -> aiohttp.ClientSession:
    import aiohttp

    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"Accept": "application/json"},
        cookie_jar=aiohttp.DummyCookieJar(),  # token requests carry no session state
    )


class AuthorizationServer:
    """One issuer's metadata, discovered on first use and kept for the life of the process."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._metadata: Mapping[str, Any] | None = None
        self._lock: asyncio.Lock | None = None

    async def metadata(self, session: aiohttp.ClientSession) -> Mapping[str, Any]:
        if self._metadata is not None:
            return self._metadata
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._metadata is None:
                self._metadata = await self._discover(session)
        return self._metadata

    async def _discover(self, session: aiohttp.ClientSession) -> Mapping[str, Any]:
        tried: list[str] = []
        for url in metadata_urls(self.issuer):
            status, body = await request_json(session, "GET", url)
            if status == 200 and isinstance(body, Mapping):
                issuer = body.get("issuer")
                if not isinstance(issuer, str) or not same_issuer(issuer, self.issuer):
                    raise OAuthError(
                        f"the metadata at {url} names issuer {issuer!r}, not {self.issuer!r} (RFC 8414 §3.3)"
                    )
                return body
            tried.append(f"{url} ({status})")
        raise OAuthError(f"no authorization server metadata for {self.issuer}: tried {', '.join(tried)}")

    async def endpoint(self, session: aiohttp.ClientSession, name: str) -> str:
        value = (await self.metadata(session)).get(name)
        if not isinstance(value, str) or not value:
            raise OAuthError(f"the metadata of {self.issuer} has no {name}")
        return value


class ClientCredentials:
    """An access token for one consumed API, obtained with the client credentials grant (RFC 6749 §4.4)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_endpoint: str | None,
        server: AuthorizationServer | None,
        scopes: Sequence[str] = (),
        audience: str | None = None,
        resource: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if token_endpoint is None and server is None:
            raise ValueError("a token endpoint or an authorization server is needed")
        self.client_id = client_id
        self._secret = client_secret
        self.token_endpoint = token_endpoint
        self.server = server
        self.scopes = tuple(scopes)
        self.audience = audience
        self.resource = resource
        self._clock = clock
        self._token: str | None = None
        self._good_until = 0.0
        self._lock: asyncio.Lock | None = None

    def _current(self) -> str | None:
        return self._token if self._token is not None and self._clock() < self._good_until else None

    async def token(self) -> str:
        """The cached token, or a new one when there is none or it is about to expire."""
        current = self._current()
        if current is not None:
            return current
        async with self._locked():
            current = self._current()
            return current if current is not None else await self._fetch()

    async def refresh(self, rejected: str) -> str:
        """A new token after an upstream rejected ``rejected``; concurrent callers share one refresh."""
        async with self._locked():
            current = self._current()
            if current is not None and current != rejected:
                return current
            return await self._fetch()

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _fetch(self) -> str:
        # a session of its own per fetch: tokens are fetched rarely, and nothing is left open to close
        async with new_session() as session:
            return await self._fetch_with(session)

    async def _fetch_with(self, session: aiohttp.ClientSession) -> str:
        url = self.token_endpoint
        if url is None:
            assert self.server is not None
            url = await self.server.endpoint(session, "token_endpoint")
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        if self.audience:
            form["audience"] = self.audience
        if self.resource:
            form["resource"] = self.resource
        headers = {"Authorization": client_auth_header(self.client_id, self._secret)}
        started = self._clock()
        status, body = await request_json(session, "POST", url, form=form, headers=headers)
        if status != 200 or not isinstance(body, Mapping):
            code = body.get("error") if isinstance(body, Mapping) else None
            raise OAuthError(f"the token endpoint {url} answered {status}" + (f" ({code})" if code else ""))
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise OAuthError(f"the token endpoint {url} answered without an access_token")
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else DEFAULT_LIFETIME
        self._token = token
        self._good_until = started + seconds - min(EXPIRY_MARGIN, seconds / 2)
        return token

    def secrets(self) -> list[str]:
        return [self._secret]


class OAuth2Middleware:
    """aiohttp client middleware: bearer token from :class:`ClientCredentials`; one refresh on a 401."""

    def __init__(self, credentials: ClientCredentials) -> None:
        self.credentials = credentials

    def secrets(self) -> list[str]:
        return self.credentials.secrets()

    async def __call__(
        self,
        request: aiohttp.ClientRequest,
        handler: Callable[[aiohttp.ClientRequest], Any],
    ) -> aiohttp.ClientResponse:
        token = await self.credentials.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response: aiohttp.ClientResponse = await handler(request)
        if response.status != 401:
            return response
        response.release()
        token = await self.credentials.refresh(token)
        request.headers["Authorization"] = f"Bearer {token}"
        retried: aiohttp.ClientResponse = await handler(request)
        return retried


def client_credentials(auth: m.AuthOAuth2, bind_scopes: Sequence[Mapping[str, Any]]) -> OAuth2Middleware:
    """Client credentials for a consumed API that declares oauth2 (id and secret rendered from the binds)."""

    def render(text: str | None, field: str) -> str:
        return compile_template(text or "").render(bind_scopes, what=f"oauth2 credential '{field}'")

    server = AuthorizationServer(auth.authorization_server_uri) if auth.authorization_server_uri else None
    credentials = ClientCredentials(
        client_id=render(auth.client_id, "clientId"),
        client_secret=render(auth.client_secret, "clientSecret"),
        token_endpoint=auth.token_endpoint,
        server=server,
        scopes=auth.scopes,
        audience=auth.audience,
        resource=auth.resource or None,
    )
    return OAuth2Middleware(credentials)
