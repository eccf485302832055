"""The builder's primitive readers: typed access to a node's keys, each mistake recorded at its path."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from .. import model as m
from ..findings import Path

T = TypeVar("T")

PARAM_IN = ("query", "header", "path", "cookie", "body", "environment")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OUTPUT_TYPES = ("string", "number", "integer", "boolean", "object", "array")
BODY_KINDS = ("json", "text", "xml", "sparql", "formUrlEncoded", "multipartForm")
AUTH_TYPES = ("basic", "digest", "bearer", "apikey", "oauth2")
RAW_FORMATS = ("json", "xml", "avro", "protobuf", "csv", "tsv", "psv", "yaml", "html", "markdown", "binary")
#: ``maxBinarySize`` (Ikanos ``BinarySize``): a number and a 1024-based unit
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)$")
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


class Reader:
    """Reads one document; ``errors`` collects ``(path, message)`` for everything it cannot interpret."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[tuple[Path, str]] = []

    # --- primitive readers ------------------------------------------------------------------------------

    def error(self, path: Path, message: str) -> None:
        self.errors.append((path, message))

    def get(
        self, node: Mapping[str, Any], key: str, path: Path, kind: type[T], *, required: bool = False
    ) -> T | None:
        if key not in node or node[key] is None:
            if required:
                self.error(path, f"'{key}' is required")
            return None
        value = node[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            self.error((*path, key), f"expected {kind_name(kind)}, got {describe(value)}")
            return None
        return cast(T, value)

    def text(self, node: Mapping[str, Any], key: str, path: Path, *, required: bool = False) -> str | None:
        return self.get(node, key, path, str, required=required)

    def req_text(self, node: Mapping[str, Any], key: str, path: Path) -> str:
        return self.text(node, key, path, required=True) or ""

    def flag(self, node: Mapping[str, Any], key: str, path: Path) -> bool | None:
        return self.get(node, key, path, bool)

    def binary_size(self, node: Mapping[str, Any], path: Path) -> int | None:
        """``maxBinarySize`` in bytes (a unit is required: a bare number is refused)."""
        value = node.get("maxBinarySize")
        if value is None:
            return None
        match = _SIZE.match(value) if isinstance(value, str) else None
        if match is None:
            self.error(
                (*path, "maxBinarySize"),
                f"maxBinarySize is a size with a unit (B, KiB, MiB or GiB; 1024-based), got {value!r}",
            )
            return None
        return int(float(match[1]) * _UNITS[match[2]])

    def enum(
        self,
        node: Mapping[str, Any],
        key: str,
        path: Path,
        allowed: tuple[str, ...],
        *,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        value = self.text(node, key, path, required=required and default is None)
        if value is None:
            return default
        if value not in allowed:
            self.error((*path, key), f"{value!r} is not one of {', '.join(allowed)}")
            return default
        return value

    def items(
        self,
        node: Mapping[str, Any],
        key: str,
        path: Path,
        build: Callable[[Mapping[str, Any], Path], T | None],
        *,
        required: bool = False,
    ) -> tuple[T, ...]:
        seq = self.get(node, key, path, list, required=required)
        if seq is None:
            return ()
        out: list[T] = []
        for i, item in enumerate(seq):
            p = (*path, key, i)
            if not isinstance(item, dict):
                self.error(p, f"expected an object, got {describe(item)}")
                continue
            built = build(item, p)
            if built is not None:
                out.append(built)
        return tuple(out)

    def strings(self, node: Mapping[str, Any], key: str, path: Path) -> tuple[str, ...]:
        seq = self.get(node, key, path, list)
        if seq is None:
            return ()
        out = []
        for i, item in enumerate(seq):
            if isinstance(item, str):
                out.append(item)
            else:
                self.error((*path, key, i), f"expected a string, got {describe(item)}")
        return tuple(out)

    def with_table(self, node: Mapping[str, Any], path: Path) -> Mapping[str, m.WithValue]:
        table = self.get(node, "with", path, dict)
        if table is None:
            return {}
        out: dict[str, m.WithValue] = {}
        for key, value in table.items():
            if isinstance(value, (str, int, float, bool)):
                out[key] = value
            else:
                self.error(
                    (*path, "with", key),
                    f"a 'with' value must be a string or a number, got {describe(value)}",
                )
        return out

    def port(self, node: Mapping[str, Any], path: Path, *, required: bool) -> int | None:
        port = self.get(node, "port", path, int, required=required)
        if port is not None and not 0 <= port <= 65535:
            self.error((*path, "port"), f"port {port} is outside 0..65535")
            return None
        return port


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def scalar_text(value: Any) -> str | None:
    """Template-ish fields accept numbers and booleans in real files; read them as their YAML text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def kind_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "an object",
    }.get(kind, kind.__name__)


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
