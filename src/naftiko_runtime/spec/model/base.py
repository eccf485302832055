"""Scalars shared by the model, the document's ``info`` and ``binds``, and the authentication schemes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..findings import Path

ParamIn = Literal["query", "header", "path", "cookie", "body", "environment"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
WithValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Info:
    label: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    created: str | None = None
    modified: str | None = None
    #: the capability's own version (Ikanos beta4+): server info and OpenAPI
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    namespace: str
    keys: Mapping[str, str]
    location: str | None = None
    description: str | None = None
    path: Path = ()


# --- authentication -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthBasic:
    username: str = ""
    password: str = ""
    type: Literal["basic"] = "basic"


@dataclass(frozen=True, slots=True)
class AuthDigest:
    username: str = ""
    password: str = ""
    type: Literal["digest"] = "digest"


@dataclass(frozen=True, slots=True)
class AuthBearer:
    token: str = ""
    type: Literal["bearer"] = "bearer"


@dataclass(frozen=True, slots=True)
class AuthApiKey:
    key: str = ""
    value: str = ""
    placement: Literal["header", "query"] = "header"
    type: Literal["apikey"] = "apikey"


@dataclass(frozen=True, slots=True)
class AuthOAuth2:
    """Inbound: the adapter is a protected resource. Outbound: client credentials for the consumed API.

    ``client_id``/``client_secret`` extend alpha2: the outbound grant needs them, and so does introspection.
    """

    authorization_server_uri: str = ""
    resource: str = ""
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    token_endpoint: str | None = None
    token_validation: Literal["jwks", "introspection"] = "jwks"
    client_id: str | None = None
    client_secret: str | None = None
    type: Literal["oauth2"] = "oauth2"


Authentication = AuthBasic | AuthDigest | AuthBearer | AuthApiKey | AuthOAuth2
