"""``outputRawFormat: json`` (the default), and the JSON reading and writing every layer above shares.

orjson parses and writes JSON several times faster than the standard library; the standard library
still answers for what orjson refuses (``NaN``, integers beyond 64 bits, non-string keys), so a value
reads and writes the same whichever of the two handled it.

:func:`valid` checks a body that is passed on unparsed (the usual REST answer) with simdjson, which
validates without building a single Python object: about a fifth of orjson's time on a typical answer,
and a larger share of the request in a busy server, where building and freeing the objects also costs
cache. What simdjson refuses goes to :func:`loads`, so both say the same of every body.
"""

from __future__ import annotations

import json
import threading
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


#: bodies up to this size are checked by simdjson; a larger one by :func:`loads` (a simdjson parser
#: keeps buffers as large as the largest document it read, and parsing is then a small part of the call)
VALID_FAST_MAX = 256 * 1024


def valid(data: bytes) -> bool:
    """Whether ``data`` is one JSON document that :func:`loads` reads (RecursionError counts as no)."""
    if len(data) <= VALID_FAST_MAX:
        try:
            _parser().parse(data)
            return True
        except (ValueError, RuntimeError):
            pass  # refused here (NaN, big integers, lone surrogates...): loads may still read it
    try:
        loads(data)
    except (ValueError, RecursionError):
        return False
    return True


_local = threading.local()


def _parser() -> Any:
    """This thread's simdjson parser (made on first use: the module loads only when a body is checked)."""
    try:
        return _local.parser
    except AttributeError:
        import simdjson

        _local.parser = simdjson.Parser()
        return _local.parser


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
