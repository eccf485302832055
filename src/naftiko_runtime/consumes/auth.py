"""Outbound credentials: one row per authentication ``type``.

A row of :data:`OUTBOUND_AUTH` compiles a consumer's ``authentication`` block once, at load, into
:class:`Credentials` that apply to one request. A credential that only uses binds is rendered at load
(and checked there); one that names call arguments is rendered per request. A scheme is one module with
a compile function and one row here (``oauth2``'s client credentials live in ``oauth2.py``); a scheme with
no row is reported at load by ``check_support`` and refused by :func:`compile_auth`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import MisconfiguredError, RequestError, TemplateError, UnsupportedFeatureError
from ..expressions import Template, compile_template
from ..spec import model as m
from .oauth2 import client_credentials
from .placement import PLACEMENT, Outgoing, Scopes, header_value


class Credentials(Protocol):
    """Compiled credentials: ``apply`` writes them into one outgoing request."""

    #: values that must never leave the process (registered with the redactor)
    secrets: tuple[str, ...]

    def apply(self, out: Outgoing, scopes: Scopes) -> None: ...


@dataclass(frozen=True, slots=True)
class Field:
    """One credential field: its text when binds alone render it (``static``), else rendered per call."""

    label: str
    template: Template
    static: str | None

    def text(self, scopes: Scopes) -> str:
        if self.static is not None:
            return self.static
        try:
            return self.template.render(scopes, what=self.label)
        except TemplateError as exc:  # a credential the call cannot complete is the server's problem
            raise MisconfiguredError(
                f"the server is misconfigured: {self.label} needs '{exc.name}', which this call does not have"
            ) from None


def compile_field(auth: Any, name: str, bind_scopes: Scopes) -> Field:
    source = getattr(auth, name, "") or ""
    template = compile_template(source)
    try:
        static: str | None = template.render(bind_scopes)
    except RequestError:
        static = None  # it names call arguments: rendered per call
    return Field(f"{auth.type} credential '{name}'", template, static)


def _static_header(name: str, value: str | None) -> str | None:
    """A header value known at load, checked there: a bound secret with a line break is a start-up error."""
    if value is None:
        return None
    try:
        return header_value(name, value)
    except RequestError:
        raise UnsupportedFeatureError(
            f"the {name} header built from the bound credentials contains a line break or NUL"
        ) from None


def _secrets(*fields: Field) -> tuple[str, ...]:
    return tuple(f.static for f in fields if f.static)


class Bearer:
    def __init__(self, auth: m.AuthBearer, bind_scopes: Scopes) -> None:
        self.token = compile_field(auth, "token", bind_scopes)
        self.secrets = _secrets(self.token)
        static = self.token.static
        self.header = _static_header("Authorization", None if static is None else "Bearer " + static)

    def apply(self, out: Outgoing, scopes: Scopes) -> None:
        value = self.header or header_value("Authorization", "Bearer " + self.token.text(scopes))
        out.headers["Authorization"] = value


class Basic:
    def __init__(self, auth: m.AuthBasic, bind_scopes: Scopes) -> None:
        self.username = compile_field(auth, "username", bind_scopes)
        self.password = compile_field(auth, "password", bind_scopes)
        static = self.username.static is not None and self.password.static is not None
        # "user:password" too: its base64 form is what travels in the header
        pair = (f"{self.username.static}:{self.password.static}",) if static else ()
        self.secrets = _secrets(self.password) + pair
        self.header = self._value(bind_scopes) if static else None

    def _value(self, scopes: Scopes) -> str:
        raw = f"{self.username.text(scopes)}:{self.password.text(scopes)}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def apply(self, out: Outgoing, scopes: Scopes) -> None:
        out.headers["Authorization"] = self.header or self._value(scopes)


class Digest:
    """Answers the upstream's challenge (an aiohttp client middleware per request, as it keeps state)."""

    def __init__(self, auth: m.AuthDigest, bind_scopes: Scopes) -> None:
        self.username = compile_field(auth, "username", bind_scopes)
        self.password = compile_field(auth, "password", bind_scopes)
        self.secrets = _secrets(self.password)

    def apply(self, out: Outgoing, scopes: Scopes) -> None:
        import aiohttp

        user, password = self.username.text(scopes), self.password.text(scopes)
        out.middlewares.append(aiohttp.DigestAuthMiddleware(user, password))


class ApiKey:
    """A key and value placed where ``placement`` says, by the same rows as input parameters."""

    def __init__(self, auth: m.AuthApiKey, bind_scopes: Scopes) -> None:
        self.key = compile_field(auth, "key", bind_scopes)
        self.value = compile_field(auth, "value", bind_scopes)
        self.secrets = _secrets(self.value)
        self.place = PLACEMENT[auth.placement].place
        if auth.placement == "header" and self.key.static and self.value.static:
            _static_header(self.key.static, self.value.static)

    def apply(self, out: Outgoing, scopes: Scopes) -> None:
        self.place(out, self.key.text(scopes), self.value.text(scopes))


class OAuth2:
    """Client credentials (``oauth2.py``): one token middleware, shared by every call of the consumer."""

    def __init__(self, auth: m.AuthOAuth2, bind_scopes: Scopes) -> None:
        self.middleware = client_credentials(auth, bind_scopes)
        self.secrets = tuple(self.middleware.secrets())

    def apply(self, out: Outgoing, scopes: Scopes) -> None:
        out.middlewares.append(self.middleware)


#: keyed by authentication ``type``: ``compile(authentication, bind scopes) -> Credentials``
OUTBOUND_AUTH: Mapping[str, Callable[[Any, Scopes], Credentials]] = {
    "bearer": Bearer,
    "basic": Basic,
    "digest": Digest,
    "apikey": ApiKey,
    "oauth2": OAuth2,
}


def compile_auth(auth: m.Authentication | None, bind_scopes: Scopes) -> Credentials | None:
    if auth is None:
        return None
    row = OUTBOUND_AUTH.get(auth.type)
    if row is None:
        raise UnsupportedFeatureError(f"outbound {auth.type} authentication is not supported by this runtime")
    return row(auth, bind_scopes)


__all__ = ["OUTBOUND_AUTH", "Credentials", "compile_auth"]
