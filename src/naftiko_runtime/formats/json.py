"""``outputRawFormat: json`` (the default), and the JSON reading and writing every layer above shares.

orjson parses and writes JSON several times faster than the standard library; the standard library
still answers for what orjson refuses (``NaN``, integers beyond 64 bits, non-string keys), so a value
reads and writes the same whichever of the two handled it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from .errors import PayloadError


def loads(data: bytes | str) -> Any:
    """Parse JSON; ValueError (or RecursionError, for nesting too deep to follow) when it is not."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    try:
        return loads(body)
    except ValueError:
        raise PayloadError(f"{_kind(content_type)} that is not JSON", excerpt=True) from None


def _kind(content_type: str) -> str:
    return content_type.split(";")[0] or "an unlabelled body"
