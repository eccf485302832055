"""Routing for one REST adapter, on the *raw* (still percent-encoded) path.

The path is matched one segment at a time and each segment is decoded on its own, so ``a%2Fb`` or
``..%2F..%2Fadmin`` is one path value, never two segments or a climb. Placeholder names are kept per
operation (hyphens are fine), so two resources with the same shape share one route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import Receive, Scope

from ...expressions import compile_path
from .endpoint import Endpoint
from .forward import Forward
from .responses import Responder, problem

Segments = tuple[str | re.Pattern[str], ...]


@dataclass(slots=True)
class Group:
    """Every operation (and the forward) of one path shape."""

    template: str
    segments: Segments  # a literal (decoded) or a pattern capturing the variables
    greedy: bool  # a forward resource's trailing {path}: the rest of the path, still encoded
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    forward: Forward | None = None

    def match(self, decoded: Sequence[str], raw: Sequence[str]) -> list[str] | None:
        n = len(self.segments)
        if len(decoded) != n and not (self.greedy and len(decoded) > n):
            return None
        values: list[str] = []
        for segment, text in zip(self.segments, decoded, strict=False):
            if isinstance(segment, str):
                if segment != text:
                    return None
            else:
                found = segment.fullmatch(text)
                if found is None:
                    return None
                values.extend(found.groups())
        if self.greedy:
            values.append("/".join(raw[n:]))
        return values


def split(path: str) -> list[str]:
    path = path[1:] if path.startswith("/") else path
    path = path[:-1] if path.endswith("/") else path
    return path.split("/") if path else []


def _one_pattern(
    groups: Sequence[Group],
) -> tuple[Callable[[str], re.Match[str] | None] | None, dict[str, tuple[Group, int, int]]]:
    """One regex for every path with a variable, in declaration order (the order :meth:`Routes.walk`
    tries them), over the path without its outer slashes; each alternative ends in an empty group named
    after it, so a match says which one matched and where its values are."""
    if not groups:
        return None, {}
    alternatives: list[str] = []
    where: dict[str, tuple[Group, int, int]] = {}
    count = 0
    for index, group in enumerate(groups):
        parts = []
        captures = 0
        for segment in group.segments:
            if isinstance(segment, str):
                parts.append(re.escape(segment))
            elif segment.pattern == "(.+?)":  # the whole segment: greedy takes it in one step, alike
                parts.append("([^/]+)")
                captures += 1
            else:  # a variable stays within its segment (lazy, as the walk matches it)
                parts.append(segment.pattern.replace("(.+?)", "([^/]+?)"))
                captures += segment.groups
        name = f"r{index}"
        alternatives.append("/".join(parts) + f"(?P<{name}>)")
        where[name] = (group, count, count + captures)
        count += captures + 1
    return re.compile("|".join(alternatives), re.DOTALL).fullmatch, where


def compile_route(template: str, greedy_tail: bool) -> tuple[Segments, tuple[str, ...], bool]:
    """Segments, placeholder names in order, and whether a trailing ``{path}`` takes the rest of the path."""
    segments: list[str | re.Pattern[str]] = []
    names: list[str] = []
    parts = split(template.split("?", 1)[0])
    greedy = False
    if greedy_tail and parts and compile_path(parts[-1]).parts == ("", "path", ""):
        parts, greedy = parts[:-1], True
    for part in parts:
        compiled = compile_path(part)
        if len(compiled.parts) == 1:
            segments.append(part)
            continue
        regex = "".join(re.escape(text) if i % 2 == 0 else "(.+?)" for i, text in enumerate(compiled.parts))
        segments.append(re.compile(regex, re.DOTALL))
        names.extend(compiled.names)
    if greedy:
        names.append("path")
    return tuple(segments), tuple(names), greedy


class Routes:
    """All resources of one adapter: literal paths by dict lookup, the others by segment count."""

    def __init__(self, groups: Sequence[Group]) -> None:
        self.static: dict[tuple[str, ...], list[Group]] = {}
        self.dynamic: dict[int, list[Group]] = {}
        self.greedy: list[Group] = []
        for group in groups:
            if group.greedy:
                self.greedy.append(group)
            elif all(isinstance(s, str) for s in group.segments):
                self.static.setdefault(cast(tuple[str, ...], group.segments), []).append(group)
            else:
                self.dynamic.setdefault(len(group.segments), []).append(group)
        #: for paths without escapes: the literal paths by their text, and one pattern per segment count
        #: (only routes of a path's own length can match it; each list is in declaration order)
        self.static_text = {"/".join(k): v for k, v in self.static.items()}
        self.quick = {n: _one_pattern(same) for n, same in self.dynamic.items()}

    def match(self, scope: Scope) -> tuple[Group, list[str]] | list[str] | None:
        """The group and its path values; else the methods the path allows (405); else None (404)."""
        raw_path = scope.get("raw_path")
        text = raw_path.decode("latin-1") if raw_path else scope["path"]
        if "%" not in text:  # every segment reads as it is written: try the one pattern first
            quick = self._quick(text, scope["method"])
            if quick is not None:
                return quick
        return self.walk(text, scope["method"], decode=raw_path is not None)

    def walk(
        self, text: str, method: str, *, decode: bool = True
    ) -> tuple[Group, list[str]] | list[str] | None:
        """:meth:`match` segment by segment, decoding each (``decode``: the path is still encoded)."""
        raw = split(text)
        decoded = [unquote(s) for s in raw] if decode else raw
        allowed: list[str] = []
        candidates = (*self.static.get(tuple(decoded), ()), *self.dynamic.get(len(decoded), ()), *self.greedy)
        for group in candidates:
            values = group.match(decoded, raw)
            if values is None:
                continue
            if method in group.endpoints or group.forward is not None:
                return group, values
            allowed.extend(k for k in group.endpoints if k not in allowed)
        return allowed or None

    def _quick(self, text: str, method: str) -> tuple[Group, list[str]] | None:
        """The common case in one step: a path without escapes, answered by a route with this method (the
        same precedence as :meth:`walk`; anything else, 405s included, goes the long way)."""
        if text.startswith("/"):
            text = text[1:]
        if text.endswith("/"):
            text = text[:-1]
        for group in self.static_text.get(text, ()):
            if method in group.endpoints or group.forward is not None:
                return group, []
        pattern, alternatives = self.quick.get(text.count("/") + 1 if text else 0, (None, {}))
        if pattern is None:
            return None
        found = pattern(text)
        if found is None or found.lastgroup is None:
            return None
        group, first, last = alternatives[found.lastgroup]
        if method in group.endpoints or group.forward is not None:
            return group, list(found.groups()[first:last])
        return None

    def respond(
        self, scope: Scope, receive: Receive, matched: tuple[Group, list[str]] | list[str]
    ) -> Awaitable[Responder]:
        """The answer of the matched route: its operation's, the forward's, or a 405 (the awaitable that
        makes it: no frame of its own between the app and the endpoint)."""
        if isinstance(matched, list):
            allow = ", ".join(matched)
            detail = f"{scope['method']} is not allowed here (allowed: {allow})"
            return _ready(problem(405, "Method not allowed", detail, headers={"Allow": allow}))
        group, values = matched
        endpoint = group.endpoints.get(scope["method"])
        if endpoint is not None:
            return endpoint.respond(scope, receive, values[: len(endpoint.path_names)])
        assert group.forward is not None
        return group.forward.respond(Request(scope, receive), values[-1] if group.greedy else None)


async def _ready(response: Responder) -> Responder:
    return response
