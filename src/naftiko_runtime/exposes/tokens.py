"""Access token checks for an OAuth 2.1 resource server.

:class:`JwksVerifier` checks a JWT access token locally: signature against the authorization server's
published keys (JWKS, located through its metadata), issuer, audience, expiry with a small clock skew.
Keys are cached; a token signed with a key we do not know makes us fetch the key set again (at most once
per :data:`REFETCH_INTERVAL`), which is how a key rotation is picked up.
:class:`IntrospectionVerifier` asks the authorization server instead (RFC 7662) and caches each answer
until the token expires (at most :data:`INTROSPECTION_TTL`). Neither keeps or logs a token in clear:
the introspection cache is keyed by the token's SHA-256.

The JOSE work is PyJWT's; this module is imported only when an adapter declares ``oauth2``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import jwt

from ..consumes.oauth2 import (
    AuthorizationServer,
    OAuthError,
    client_auth_header,
    new_session,
    request_json,
    same_issuer,
)

#: clock skew tolerated on ``exp``/``nbf``/``iat``, in seconds
LEEWAY = 30.0
#: a token signed with an unknown key makes the key set be fetched again, but not more often than this
REFETCH_INTERVAL = 1.0
#: known keys are fetched again after this long even when every token names a known key
KEYS_MAX_AGE = 3600.0
#: an introspection answer is reused until the token expires, but not longer than this
INTROSPECTION_TTL = 300.0
INTROSPECTION_CACHE_SIZE = 10_000

#: signature algorithms accepted from an authorization server (asymmetric only: never none or HMAC)
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class TokenRejected(Exception):
    """The token is not acceptable (401 ``invalid_token``); the message is the ``error_description``."""


class ValidationUnavailable(Exception):
    """The token cannot be checked now because the authorization server cannot be used (a 503)."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token grants: its subject, client and scopes."""

    subject: str | None
    client_id: str | None
    scopes: frozenset[str]
    expires_at: float | None
    claims: Mapping[str, Any] = field(repr=False, default_factory=dict)


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Grant: ...

    async def close(self) -> None: ...


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """``scope`` (space-separated, RFC 8693/9068) or ``scp`` (a list or a string, as some servers send)."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return frozenset(value.split())
        if isinstance(value, list):
            return frozenset(str(v) for v in value)
    return frozenset()


def grant_of(claims: Mapping[str, Any]) -> Grant:
    exp = claims.get("exp")
    client = claims.get("client_id", claims.get("azp"))
    return Grant(
        subject=str(claims["sub"]) if "sub" in claims else None,
        client_id=str(client) if client is not None else None,
        scopes=scopes_of(claims),
        expires_at=float(exp) if isinstance(exp, (int, float)) else None,
        claims=claims,
    )


def _issuers(issuer: str) -> list[str]:
    bare = issuer.rstrip("/")
    return [bare, bare + "/"]


class _Session:
    """A lazily opened HTTP session to the authorization server, shared by one verifier."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class JwksVerifier:
    """Checks JWT access tokens against the issuer's JWKS."""

    def __init__(
        self,
        server: AuthorizationServer,
        *,
        audiences: Sequence[str],
        leeway: float = LEEWAY,
        refetch_interval: float = REFETCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server = server
        self.audiences = list(audiences)
        self.leeway = leeway
        self.refetch_interval = refetch_interval
        self._clock = clock
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self._http = _Session()

    async def verify(self, token: str) -> Grant:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the access token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRejected(f"access tokens signed with {alg!r} are not accepted")
        kid = header.get("kid")
        key = await self._key(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audiences,
                issuer=_issuers(self.server.issuer),
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the access token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the access token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the access token was issued for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(f"the access token was not issued by {self.server.issuer}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"the access token has no '{exc.claim}' claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the access token's signature does not verify") from None
        except jwt.PyJWTError:
            raise TokenRejected("the access token is not valid") from None
        return grant_of(claims)

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        now = self._clock()
        if self._fetched_at is None or now - self._fetched_at > KEYS_MAX_AGE:
            await self._refresh(self._fetched_at)
        key = self._pick(kid)
        if key is None and self._fetched_at is not None and now - self._fetched_at >= self.refetch_interval:
            await self._refresh(self._fetched_at)
            key = self._pick(kid)
        if key is None:
            raise TokenRejected(
                "the access token is signed with a key the authorization server does not publish"
            )
        return key

    def _pick(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is not None:
            return self._keys.get(kid)
        only = list(self._keys.values())
        return only[0] if len(only) == 1 else None

    async def _refresh(self, seen: float | None) -> None:
        async with self._lock:
            if self._fetched_at != seen:  # another request refreshed the keys while this one waited
                return
            try:
                session = self._http.get()
                url = await self.server.endpoint(session, "jwks_uri")
                status, body = await request_json(session, "GET", url)
            except OAuthError as exc:
                if self._keys:  # keep serving with the keys we have
                    return
                raise ValidationUnavailable(str(exc)) from None
            if status != 200 or not isinstance(body, Mapping) or not isinstance(body.get("keys"), list):
                if self._keys:
                    return
                raise ValidationUnavailable(f"the key set at {url} could not be read ({status})")
            keys: dict[str | None, jwt.PyJWK] = {}
            for entry in body["keys"]:
                if not isinstance(entry, Mapping) or entry.get("use", "sig") != "sig":
                    continue
                try:
                    key = jwt.PyJWK(dict(entry))
                except jwt.PyJWTError:
                    continue  # a key type or curve this library cannot use
                keys[key.key_id] = key
            self._keys = keys
            self._fetched_at = self._clock()

    async def close(self) -> None:
        await self._http.close()


class IntrospectionVerifier:
    """Asks the authorization server about each token (RFC 7662); answers are cached until expiry."""

    def __init__(
        self,
        server: AuthorizationServer,
        *,
        audiences: Sequence[str],
        client_id: str | None = None,
        client_secret: str | None = None,
        leeway: float = LEEWAY,
        ttl: float = INTROSPECTION_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server = server
        self.audiences = set(audiences)
        self.leeway = leeway
        self.ttl = ttl
        self._clock = clock
        self._auth = client_auth_header(client_id, client_secret or "") if client_id else None
        self._cache: dict[bytes, tuple[Grant, float]] = {}
        self._http = _Session()

    async def verify(self, token: str) -> Grant:
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and now < hit[1]:
            return hit[0]
        claims = await self._introspect(token)
        grant = self._check(claims, now)
        until = now + self.ttl
        if grant.expires_at is not None:
            until = min(until, grant.expires_at)
        self._remember(digest, grant, until, now)
        return grant

    async def _introspect(self, token: str) -> Mapping[str, Any]:
        session = self._http.get()
        try:
            url = await self.server.endpoint(session, "introspection_endpoint")
            headers = {"Authorization": self._auth} if self._auth else None
            form = {"token": token, "token_type_hint": "access_token"}
            status, body = await request_json(session, "POST", url, form=form, headers=headers)
        except OAuthError as exc:
            raise ValidationUnavailable(str(exc)) from None
        if status != 200 or not isinstance(body, Mapping):
            raise ValidationUnavailable(f"token introspection at {url} answered {status}")
        return body

    def _check(self, claims: Mapping[str, Any], now: float) -> Grant:
        if claims.get("active") is not True:
            raise TokenRejected("the access token is not active")
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp + self.leeway < now:
            raise TokenRejected("the access token has expired")
        iss = claims.get("iss")
        if isinstance(iss, str) and not same_issuer(iss, self.server.issuer):
            raise TokenRejected(f"the access token was not issued by {self.server.issuer}")
        aud = claims.get("aud")
        if aud is not None:
            given = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
            if not given & self.audiences:
                raise TokenRejected("the access token was issued for another audience")
        return grant_of(claims)

    def _remember(self, digest: bytes, grant: Grant, until: float, now: float) -> None:
        if len(self._cache) >= INTROSPECTION_CACHE_SIZE:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
            while len(self._cache) >= INTROSPECTION_CACHE_SIZE:
                del self._cache[next(iter(self._cache))]
        self._cache[digest] = (grant, until)

    async def close(self) -> None:
        await self._http.close()
