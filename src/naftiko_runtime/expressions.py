"""Templates and JSONPaths, compiled once at load.

Templates are Mustache-style ``{{ name }}`` substitutions with no HTML escaping; dotted names walk
objects (``{{ env.TOKEN }}``); objects and lists render as compact JSON; a name the scope lacks is an
error that names it. Sections are not part of the spec's usage and are refused at load.

JSONPaths accept the forms real capability files use: ``$`` and ``$.`` for the root, ``$.a.b``,
``$.items[*].id`` and keys with hyphens or spaces. Simple dotted paths are compiled to a tuple of keys
and read with plain dict lookups; anything else goes through jsonpath-ng.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from .errors import ConfigError, InvalidInputError, TemplateError


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


class ExpressionError(ConfigError):
    """A template or JSONPath that cannot be compiled (reported at load, with the node's position)."""


# --- scopes ---------------------------------------------------------------------------------------------


def lookup(scopes: Sequence[Mapping[str, Any]], name: str) -> Any:
    """Find ``name`` in the first scope that has it; a dotted name is tried whole, then walked."""
    for scope in scopes:
        if name in scope:
            return scope[name]
    if "." in name:
        head, *rest = name.split(".")
        for scope in scopes:
            if head in scope:
                value = scope[head]
                for part in rest:
                    if isinstance(value, Mapping) and part in value:
                        value = value[part]
                    elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                        value = value[int(part)]
                    else:
                        value = MISSING
                        break
                if value is not MISSING:
                    return value
    return MISSING


def to_text(value: Any) -> str:
    """How a value renders inside a template or a URL: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return dump_json(value)


def dump_json(value: Any) -> str:
    """Compact JSON; an integer longer than Python prints (4300 digits) is the caller's error, not ours."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        raise InvalidInputError("a number has more digits than this server accepts (4300)") from None


# --- templates ------------------------------------------------------------------------------------------

_TAG = re.compile(r"\{\{\{\s*([^{}]*?)\s*\}\}\}|\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z0-9_$@*][A-Za-z0-9_\-.$@*]*$")


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template: alternating literal text and names, ``parts[0]`` always literal."""

    source: str
    parts: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return self.parts[1::2]

    @property
    def is_constant(self) -> bool:
        return len(self.parts) == 1

    @property
    def single_name(self) -> str | None:
        """The name when the template is exactly one ``{{name}}`` and nothing else."""
        if len(self.parts) == 3 and not self.parts[0] and not self.parts[2]:
            return self.parts[1]
        return None

    def render(self, scopes: Sequence[Mapping[str, Any]], *, what: str = "template") -> str:
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            value = lookup(scopes, parts[i])
            if value is MISSING or value is None:
                raise TemplateError(
                    f"{what} needs a value for '{parts[i]}', and none was given", name=parts[i]
                )
            out.append(to_text(value))
            out.append(parts[i + 1])
        return "".join(out)

    def value(self, scopes: Sequence[Mapping[str, Any]], *, what: str = "template") -> Any:
        """Like ``render``, but a template that is exactly one name yields the value itself, not its text."""
        name = self.single_name
        if name is not None:
            value = lookup(scopes, name)
            if value is MISSING or value is None:
                raise TemplateError(f"{what} needs a value for '{name}', and none was given", name=name)
            return value
        return self.render(scopes, what=what)


def compile_template(source: str) -> Template:
    parts: list[str] = []
    pos = 0
    for match in _TAG.finditer(source):
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if name[:1] in ("#", "^", "/", "!", ">", "&", "="):
            raise ExpressionError(
                f"template tag '{{{{{name}}}}}' is not supported (only {{{{name}}}} substitution)"
            )
        if not _NAME.match(name):
            raise ExpressionError(f"template tag '{{{{{name}}}}}' is not a valid name")
        parts.append(source[pos : match.start()])
        parts.append(name)
        pos = match.end()
    parts.append(source[pos:])
    return Template(source, tuple(parts))


def has_template(text: str) -> bool:
    return "{{" in text and "}}" in text


# --- URL path templates ---------------------------------------------------------------------------------

_PATH_VAR = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}|\{([^{}\s]+)\}")


#: what a path segment may hold unencoded (RFC 3986 pchar less the unreserved set ``quote`` keeps)
SEGMENT_SAFE = "~!$&'()*+,;=:@"
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+").fullmatch


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A URL path with ``{x}`` or ``{{x}}`` placeholders; each value is encoded as exactly one segment."""

    source: str
    parts: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return self.parts[1::2]

    def expand(self, values: Mapping[str, Any], scopes: Sequence[Mapping[str, Any]] = ()) -> str:
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            name = parts[i]
            value = values.get(name, MISSING)
            if value is MISSING or value is None:
                value = lookup(scopes, name) if scopes else MISSING
            if value is MISSING or value is None or value == "":
                raise TemplateError(f"path parameter '{name}' has no value", name=name)
            text = value if type(value) is str else to_text(value)
            if not _PLAIN_SEGMENT(text):  # most values (ids, names) need no quoting: skip quote()'s work
                text = quote(text, safe=SEGMENT_SAFE)
            if text in (".", ".."):
                text = text.replace(".", "%2E")  # a whole-segment dot would climb the upstream path
            out.append(text)
            out.append(parts[i + 1])
        return "".join(out)


def compile_path(source: str) -> PathTemplate:
    parts: list[str] = []
    pos = 0
    for match in _PATH_VAR.finditer(source):
        parts.append(source[pos : match.start()])
        parts.append(match.group(1) or match.group(2))
        pos = match.end()
    parts.append(source[pos:])
    return PathTemplate(source, tuple(parts))


def join_url(base: str, path: str) -> str:
    """Join a base URI and a path with exactly one slash between them, whatever either side has."""
    if not path:
        return base
    if path.startswith(("?", "#")):
        return base + path
    return base.rstrip("/") + "/" + path.lstrip("/")


# --- JSONPath -------------------------------------------------------------------------------------------

_SIMPLE_SEGMENT = re.compile(r"[A-Za-z0-9_@$-]+")


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled JSONPath. ``definite`` paths yield one value (or MISSING); others yield a list."""

    source: str
    keys: tuple[str | int, ...] | None
    compiled: Any
    definite: bool

    def find(self, document: Any) -> Any:
        keys = self.keys
        if keys is not None:
            value = document
            for key in keys:
                if isinstance(key, str) and isinstance(value, Mapping):
                    if key not in value:
                        return MISSING
                    value = value[key]
                elif isinstance(key, int) and isinstance(value, list):
                    if not -len(value) <= key < len(value):
                        return MISSING
                    value = value[key]
                else:
                    return MISSING
            return value
        matches = [match.value for match in self.compiled.find(document)]
        if self.definite:
            return matches[0] if matches else MISSING
        return matches


def compile_jsonpath(source: str) -> JsonPath:
    text = source.strip()
    if text in ("$", "$.", ""):
        return JsonPath(source, (), None, True)
    if not text.startswith("$"):
        raise ExpressionError(f"a JSONPath starts with '$', got {source!r}")
    keys = _simple_keys(text[1:])
    if keys is not None:
        return JsonPath(source, keys, None, True)
    normalised = _quote_odd_keys(text)
    # the JSONPath engine is loaded only by a capability with a path that plain keys cannot follow
    from jsonpath_ng.ext import parse as jsonpath_parse  # type: ignore[attr-defined]

    try:
        compiled = jsonpath_parse(normalised)
    except Exception as exc:  # jsonpath-ng raises its lexer and parser errors, and bare Exceptions too
        raise ExpressionError(f"invalid JSONPath {source!r}: {exc}") from exc
    definite = not any(token in normalised for token in ("*", "..", "?", ":", ","))
    return JsonPath(source, None, compiled, definite)


def _simple_keys(rest: str) -> tuple[str | int, ...] | None:
    """``.a.b[0].c`` → ('a', 'b', 0, 'c'); None when the path needs a real JSONPath engine."""
    keys: list[str | int] = []
    i = 0
    while i < len(rest):
        ch = rest[i]
        if ch == ".":
            match = _SIMPLE_SEGMENT.match(rest, i + 1)
            if not match:
                return None
            keys.append(match.group(0))
            i = match.end()
        elif ch == "[":
            end = rest.find("]", i)
            if end < 0:
                return None
            inner = rest[i + 1 : end].strip()
            if inner.lstrip("-").isdigit():
                keys.append(int(inner))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                keys.append(inner[1:-1])
            else:
                return None
            i = end + 1
        else:
            return None
    return tuple(keys)


def _quote_odd_keys(text: str) -> str:
    """Quote dotted segments that jsonpath-ng cannot lex (spaces and other punctuation)."""
    if ".." in text or not re.search(r"[^A-Za-z0-9_@*$.\[\]'\"?()=<>!&|,:\- ]|\s", text):
        return text
    out = ["$"]
    for segment in re.split(r"\.(?![^\[]*\])", text[1:])[1:] if text[1:].startswith(".") else [text[1:]]:
        if not segment:
            continue
        head, bracket, tail = segment.partition("[")
        if head and not re.fullmatch(r"[A-Za-z0-9_@*-]+", head):
            out.append("['" + head.replace("'", "\\'") + "']" + (bracket + tail if bracket else ""))
        elif head:
            out.append("." + segment)
        else:
            out.append(segment)
    return "".join(out)
