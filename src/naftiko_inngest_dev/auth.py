"""Credential checks: event keys in the ``/e/{key}`` path and bearer signing keys / API keys on REST.

Signing keys follow the OSS rule: strip ``signkey-<env>-`` from both sides, then accept the raw key or the
hex SHA-256 of its hex-decoded bytes. That covers ``signkey-prod-<hex>``, ``<hex>``, the JS SDK's
``signkey-prod-<sha256>`` and the Python SDK's ``<sha256>``. Keys are never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from enum import Enum

_PREFIX = re.compile(r"^signkey-\w+-")
API_KEY_PREFIX = "sk-inn-api-"


def _strip(key: str) -> str:
    return _PREFIX.sub("", key.strip(), count=1)


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class AuthResult(Enum):
    OK = "ok"
    MISSING = "authorization_header_missing"
    INVALID_SIGNING_KEY = "invalid_signing_key"
    INVALID_API_KEY = "invalid_api_key"


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class KeyRing:
    def __init__(self, signing_keys: Iterable[str] = (), api_keys: Iterable[str] = ()) -> None:
        self._raw: list[str] = []
        self._hashed: list[str] = []
        for key in signing_keys:
            norm = _strip(key)
            self._raw.append(norm)
            try:
                self._hashed.append(hashlib.sha256(bytes.fromhex(norm)).hexdigest())
            except ValueError:
                pass  # not hex: only the raw form can match
        self._api_keys = [k.strip() for k in api_keys]

    @property
    def v1_enabled(self) -> bool:
        return bool(self._raw)

    @property
    def v2_enabled(self) -> bool:
        return bool(self._raw or self._api_keys)

    def signing_key_ok(self, token: str) -> bool:
        norm = _strip(token)
        lowered = norm.lower()
        ok = False
        for raw in self._raw:
            ok |= _equal(norm, raw)
        for hashed in self._hashed:
            ok |= _equal(lowered, hashed)
        return ok

    def check_v1(self, header: str | None) -> bool:
        if not self.v1_enabled:
            return True
        token = bearer_token(header)
        return token is not None and self.signing_key_ok(token)

    def check_v2(self, header: str | None) -> AuthResult:
        if not self.v2_enabled:
            return AuthResult.OK
        token = bearer_token(header)
        if token is None:
            return AuthResult.MISSING
        if token.startswith(API_KEY_PREFIX):
            ok = False
            for key in self._api_keys:
                ok |= _equal(token, key)
            return AuthResult.OK if ok else AuthResult.INVALID_API_KEY
        return AuthResult.OK if self.signing_key_ok(token) else AuthResult.INVALID_SIGNING_KEY


def event_key_ok(key: str, keys: Iterable[str]) -> bool:
    ok = False
    for candidate in keys:
        ok |= _equal(key, candidate)
    return ok
