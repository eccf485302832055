"""Inbound HTTP Digest authentication (RFC 7616) for an exposed adapter.

A request without valid credentials gets 401 with a ``Digest`` challenge (SHA-256, ``qop="auth"``). Nonces
carry their issue time and an HMAC keyed from the adapter's password, so every worker process accepts
the nonces of the others and no nonce table is kept; a nonce older than :data:`NONCE_LIFETIME` is
answered with ``stale=true``, which makes clients retry with a fresh one. A replayed response is
therefore accepted only within that lifetime (``nc`` is not tracked). Responses computed with MD5 are
accepted too, for clients that know nothing else. Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from ..problem import Problem, ProblemResponse

NONCE_LIFETIME = 300.0
HASHES: Mapping[str, Callable[[bytes], str]] = {
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
}
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_params(text: str) -> dict[str, str]:
    """The ``name=value`` / ``name="value"`` pairs of an authorization header (names lower-cased)."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(text):
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = value
    return params


class DigestAuth:
    """ASGI middleware that admits a request only with a valid Digest response for one user."""

    def __init__(
        self,
        app: ASGIApp,
        username: str,
        password: str,
        *,
        realm: str,
        mcp: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.username = username.encode()
        self.realm = realm
        self.what = "MCP server" if mcp else "API"
        self._clock = clock
        self._ha1 = {
            name: digest(f"{username}:{realm}:{password}".encode()) for name, digest in HASHES.items()
        }
        self._nonce_key = hashlib.sha256(b"naftiko digest nonce\0" + f"{realm}\0{password}".encode()).digest()

    def nonce(self, issued: float | None = None) -> str:
        stamp = struct.pack(">Q", int(self._clock() if issued is None else issued))
        mac = hmac.new(self._nonce_key, stamp, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(stamp + mac).decode("ascii")

    def _nonce_state(self, nonce: str) -> str:
        """``fresh``, ``stale`` (ours but too old) or ``bad``."""
        try:
            raw = base64.urlsafe_b64decode(nonce.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return "bad"
        if len(raw) != 26:
            return "bad"
        expected = hmac.new(self._nonce_key, raw[:8], hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(raw[8:], expected):
            return "bad"
        age = self._clock() - struct.unpack(">Q", raw[:8])[0]
        return "fresh" if -5 <= age <= NONCE_LIFETIME else "stale"

    def check(self, scope: Scope) -> tuple[bool, bool, bool]:
        """(admitted, credentials were presented, the nonce was stale)."""
        header = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), None)
        if header is None:
            return False, False, False
        scheme, _, rest = header.decode("latin-1").partition(" ")
        if scheme.lower() != "digest":
            return False, False, False
        p = parse_params(rest)
        algorithm = p.get("algorithm", "MD5").upper()
        hash_ = HASHES.get(algorithm)
        needed = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if (
            hash_ is None
            or any(k not in p for k in needed)
            or p["qop"] != "auth"
            or p.get("userhash") == "true"
        ):
            return False, True, False
        user_ok = hmac.compare_digest(p["username"].encode(), self.username)
        realm_ok = hmac.compare_digest(p["realm"].encode(), self.realm.encode())
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        uri_ok = hmac.compare_digest(p["uri"].encode("latin-1", "replace"), target)
        ha2 = hash_(f"{scope['method']}:{p['uri']}".encode())
        expected = hash_(f"{self._ha1[algorithm]}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}".encode())
        response_ok = hmac.compare_digest(p["response"].encode("latin-1", "replace"), expected.encode())
        state = self._nonce_state(p["nonce"])
        admitted = user_ok and realm_ok and uri_ok and response_ok and state == "fresh"
        return admitted, True, response_ok and state == "stale"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admitted, presented, stale = self.check(scope)
        if admitted:
            await self.app(scope, receive, send)
            return
        if stale:
            detail = "the digest nonce has expired; retry with the new one"
        elif presented:
            detail = "credentials are not valid"
        else:
            detail = "credentials are missing"
        challenge = (
            f'Digest realm="{self.realm}", qop="auth", algorithm=SHA-256, nonce="{self.nonce()}", '
            f"charset=UTF-8{', stale=true' if stale else ''}"
        )
        problem = Problem(
            401,
            "Unauthorized",
            f"this {self.what} requires digest authentication: {detail}",
            headers={"WWW-Authenticate": challenge},
        )
        await ProblemResponse(problem).emit(send)
