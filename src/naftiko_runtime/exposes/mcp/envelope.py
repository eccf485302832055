"""What the fast path reads from one Streamable HTTP POST before it answers: the headers it checks, the
protocol era, and whether the JSON-RPC message is one it serves exactly as the SDK would. Pure: no I/O.

The rule is conservative: a message whose shape is not one of the plain forms below (a batch, an unknown
key, an id that is neither a string nor a small integer, params of an unexpected type, an envelope with
extra keys) is *not* answered here but left to the SDK, so its answer is the SDK's by construction. The
checks that decide the common rejections (Host, Origin, Content-Type, Accept, the 2026-07-28 envelope
ladder: ``_meta``, ``MCP-Protocol-Version``, ``Mcp-Method`` and ``Mcp-Name`` agreement) are done here,
with the SDK's codes and messages.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .wire import HEADER_MISMATCH, INVALID_PARAMS

MODERN = "2026-07-28"
#: the revisions reachable through ``initialize`` (the SDK's legacy stateless transport serves them)
HANDSHAKE = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_HANDSHAKE = "2025-11-25"
#: a POST without ``MCP-Protocol-Version`` is read as this revision (the spec's default)
DEFAULT_VERSION = "2025-03-26"

VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
#: method -> the params key ``Mcp-Name`` mirrors
NAME_KEYS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_ROUTING = frozenset({b"mcp-protocol-version", b"mcp-method", b"mcp-name"})
_B64 = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")
_SAFE_ID = 2**53


@dataclass(slots=True)
class Headers:
    """The request headers the fast path reads, gathered in one pass over the raw list."""

    content_type: str | None = None
    accept: str = ""
    host: str | None = None
    origin: str | None = None
    content_length: str | None = None
    version: str | None = None
    method: str | None = None
    name: str | None = None
    #: a routing header sent more than once (first one found)
    duplicated: str | None = None
    #: an ``Mcp-Param-*`` header is present (their check is left to the SDK)
    params: bool = False
    seen: set[bytes] = field(default_factory=set)


def read_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    h = Headers()
    for key, value in raw:
        if key == b"content-type":
            h.content_type = value.decode("latin-1")
        elif key == b"accept":
            h.accept = value.decode("latin-1")
        elif key == b"host":
            h.host = value.decode("latin-1")
        elif key == b"origin":
            h.origin = value.decode("latin-1")
        elif key == b"content-length":
            h.content_length = value.decode("latin-1")
        elif key.startswith(b"mcp-"):
            if key in _ROUTING:
                if key in h.seen and h.duplicated is None:
                    h.duplicated = key.decode("latin-1")
                h.seen.add(key)
                text = value.decode("latin-1")
                if key == b"mcp-protocol-version":
                    h.version = text
                elif key == b"mcp-method":
                    h.method = text
                else:
                    h.name = text
            elif key.startswith(b"mcp-param-"):
                h.params = True
    return h


def accepts_json(accept: str) -> bool:
    """Whether ``Accept`` admits ``application/json`` (wildcards included), as the SDK reads it."""
    for part in accept.split(","):
        kind = part.strip().split(";")[0].strip().lower()
        if kind in ("application/json", "application/*", "*/*"):
            return True
    return False


def exact_json_content_type(content_type: str) -> bool:
    parts = [part.strip() for part in content_type.split(";")[0].split(",")]
    return "application/json" in parts


@dataclass(frozen=True, slots=True)
class Message:
    """A JSON-RPC request (``id`` set) or notification in one of the plain forms the fast path serves."""

    method: str
    params: dict[str, Any]
    id: str | int | None = None
    has_id: bool = False


def plain_message(body: Any) -> Message | None:
    """The message, or None when it is not a plain single request or notification (left to the SDK)."""
    if type(body) is not dict or body.get("jsonrpc") != "2.0" or not body.keys() <= _MESSAGE_KEYS:
        return None
    method = body.get("method")
    params = body.get("params", {})
    if type(method) is not str or type(params) is not dict:
        return None
    if "id" not in body:
        return Message(method, params)
    ident = body["id"]
    if type(ident) is str or (type(ident) is int and -_SAFE_ID < ident < _SAFE_ID):
        return Message(method, params, ident, True)
    return None


_MESSAGE_KEYS = frozenset({"jsonrpc", "id", "method", "params"})


def ladder(message: Message, headers: Headers) -> tuple[int, str] | None:
    """The 2026-07-28 envelope checks in the SDK's order; the first failure as (code, message)."""
    if headers.duplicated is not None:
        return HEADER_MISMATCH, f"{headers.duplicated} header appears more than once"
    meta = message.params.get("_meta")
    if not isinstance(meta, Mapping):
        return INVALID_PARAMS, (
            f"params._meta must be an object carrying the required {VERSION_KEY!r} and "
            f"{CAPABILITIES_KEY!r} envelope keys"
        )
    missing = [key for key in (VERSION_KEY, CAPABILITIES_KEY) if key not in meta]
    if missing:
        return INVALID_PARAMS, f"params._meta is missing the required envelope key(s): {', '.join(missing)}"
    if headers.version is None or headers.version != meta[VERSION_KEY]:
        return HEADER_MISMATCH, (
            "mcp-protocol-version header does not match the request envelope's protocol version"
        )
    if headers.method != message.method:
        return HEADER_MISMATCH, "mcp-method header does not match the request body's method"
    name_key = NAME_KEYS.get(message.method)
    if name_key is not None:
        value = message.params.get(name_key)
        if value is not None and decode_header_value(headers.name) != value:
            return (
                HEADER_MISMATCH,
                f"mcp-name header does not match the request body's {name_key!r} parameter",
            )
    return None


def decode_header_value(value: str | None) -> str | None:
    """A header value, with the ``=?base64?…?=`` sentinel decoded; None when the sentinel is malformed."""
    if value is None:
        return None
    match = _B64.fullmatch(value)
    if match is None:
        return value
    payload = match.group("payload")
    try:
        decoded = base64.b64decode(payload, validate=True)
    except binascii.Error:
        return None
    if base64.b64encode(decoded).decode("ascii") != payload:
        return None
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- params the fast path serves ------------------------------------------------------------------------


def plain_meta(meta: Any, *, modern: bool) -> bool:
    """A ``_meta`` of the keys every client sends, in their plain types (anything else: the SDK's call)."""
    if meta is None:
        return True
    if type(meta) is not dict:
        return False
    for key, value in meta.items():
        if key == "progressToken":
            if type(value) not in (str, int):
                return False
        elif not modern:
            return False
        elif key == VERSION_KEY:
            if type(value) is not str:
                return False
        elif key == CAPABILITIES_KEY:
            if type(value) is not dict:
                return False
        elif key == CLIENT_INFO_KEY:
            if not _implementation(value):
                return False
        else:
            return False
    return True


def _implementation(value: Any) -> bool:
    return (
        type(value) is dict
        and type(value.get("name")) is str
        and type(value.get("version")) is str
        and value.keys() <= {"name", "version", "title"}
        and type(value.get("title", "")) is str
    )


def _strings(value: Any) -> bool:
    return value is None or (type(value) is dict and all(type(v) is str for v in value.values()))


#: method -> (allowed params keys besides ``_meta``, a check of their values)
PARAMS: dict[str, tuple[frozenset[str], Any]] = {
    "tools/call": (
        frozenset({"name", "arguments"}),
        lambda p: type(p.get("name")) is str and (p.get("arguments") is None or type(p["arguments"]) is dict),
    ),
    "tools/list": (frozenset({"cursor"}), lambda p: type(p.get("cursor", "")) is str),
    "resources/list": (frozenset({"cursor"}), lambda p: type(p.get("cursor", "")) is str),
    "resources/templates/list": (frozenset({"cursor"}), lambda p: type(p.get("cursor", "")) is str),
    "prompts/list": (frozenset({"cursor"}), lambda p: type(p.get("cursor", "")) is str),
    "resources/read": (frozenset({"uri"}), lambda p: type(p.get("uri")) is str and ":" in p["uri"]),
    "prompts/get": (
        frozenset({"name", "arguments"}),
        lambda p: type(p.get("name")) is str and _strings(p.get("arguments")),
    ),
    "ping": (frozenset(), lambda p: True),
    "server/discover": (frozenset(), lambda p: True),
    "initialize": (
        frozenset({"protocolVersion", "capabilities", "clientInfo"}),
        lambda p: (
            type(p.get("protocolVersion")) is str
            and type(p.get("capabilities")) is dict
            and all(type(v) is dict for v in p["capabilities"].values())
            and _implementation(p.get("clientInfo"))
        ),
    ),
}


def plain_params(method: str, params: dict[str, Any], *, modern: bool) -> bool:
    """Whether ``params`` is a plain form of ``method``'s params (keys known, values of their types)."""
    spec = PARAMS.get(method)
    if spec is None:
        return False
    keys, check = spec
    if not params.keys() - {"_meta"} <= keys:
        return False
    return bool(check(params)) and plain_meta(params.get("_meta"), modern=modern)
