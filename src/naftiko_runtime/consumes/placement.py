"""Where a consumed input parameter's value lands: one row per ``in``.

Each row encodes a value for the place it lands, so no value can change the shape of the request: query
names and values are percent-encoded, cookie values too, a header value with CR, LF or NUL is refused,
a path value is encoded as exactly one segment (by the path template), body values go to the body
builder (``body.py``) and environment values join the scope templates read. Names are checked at load
(a header or cookie name must be an HTTP token).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from multidict import CIMultiDict

from ..errors import InvalidInputError
from ..expressions import to_text

Scopes = Sequence[Mapping[str, Any]]


@dataclass(slots=True)
class Outgoing:
    """One upstream request being assembled: what placement rows and credentials write into."""

    #: the call's arguments plus environment values: what templates read (with the bind scopes)
    scope: dict[str, Any]
    headers: CIMultiDict[str]
    path_values: dict[str, Any] = field(default_factory=dict)
    #: encoded ``name=value`` pairs, in order
    query: list[str] = field(default_factory=list)
    #: encoded ``name=value`` pairs for the Cookie header
    cookies: list[str] = field(default_factory=list)
    body_values: dict[str, Any] = field(default_factory=dict)
    #: aiohttp client middlewares for this request (digest authentication answers its challenge here)
    middlewares: list[Any] = field(default_factory=list)


Place = Callable[[Outgoing, str, Any], None]


@dataclass(frozen=True, slots=True)
class Placement:
    """One ``in``: how a value lands, whether an empty string counts as absent, and which names fit."""

    place: Place
    blank_is_missing: bool = True
    #: why a parameter name cannot be used here (checked at load), or None
    check_name: Callable[[str], str | None] = lambda name: None


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BREAKS = ("\r", "\n", "\0")


def _token_name(kind: str) -> Callable[[str], str | None]:
    def check(name: str) -> str | None:
        return None if _TOKEN.match(name) else f"{kind} name {name!r} is not a valid HTTP token"

    return check


def header_value(name: str, text: str) -> str:
    """``text`` when it is safe as a header value; CR, LF and NUL would end the header (or the head)."""
    if any(c in text for c in _BREAKS):
        raise InvalidInputError(
            f"the value for header '{name}' contains a line break or NUL, which a header cannot carry",
            parameter=name,
            location="header",
        )
    return text


def encode_pair(name: str, value: Any) -> str:
    return f"{quote(name, safe='')}={quote(to_text(value), safe='')}"


def _query(out: Outgoing, name: str, value: Any) -> None:
    if isinstance(value, list):
        out.query.extend(encode_pair(name, v) for v in value)
    else:
        out.query.append(encode_pair(name, value))


def _header(out: Outgoing, name: str, value: Any) -> None:
    out.headers[name] = header_value(name, to_text(value))


def _cookie(out: Outgoing, name: str, value: Any) -> None:
    out.cookies.append(f"{name}={quote(to_text(value), safe='')}")


def _path(out: Outgoing, name: str, value: Any) -> None:
    out.path_values[name] = value


def _body(out: Outgoing, name: str, value: Any) -> None:
    out.body_values[name] = value


def _environment(out: Outgoing, name: str, value: Any) -> None:
    out.scope[name] = value


#: keyed by the parameter's ``in``
PLACEMENT: Mapping[str, Placement] = {
    "path": Placement(_path),
    "query": Placement(_query),
    "header": Placement(_header, check_name=_token_name("header")),
    "cookie": Placement(_cookie, check_name=_token_name("cookie")),
    "body": Placement(_body, blank_is_missing=False),
    "environment": Placement(_environment),
}

__all__ = ["PLACEMENT", "Outgoing", "Placement", "Scopes", "encode_pair", "header_value"]
