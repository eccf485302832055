"""``formats/json.py``, the one home of JSON on the request path: ``valid`` (simdjson first) must say of
every body what ``loads`` (orjson, then the standard library) says of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naftiko_runtime.formats.json import VALID_FAST_MAX, dumps, loads, valid

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def loads_reads(data: bytes) -> bool:
    try:
        loads(data)
    except (ValueError, RecursionError):
        return False
    return True


@given(values)
@settings(max_examples=300, deadline=None)
def test_every_json_value_written_is_valid(value: Any) -> None:
    assert valid(dumps(value))
    assert valid(json.dumps(value, indent=2).encode())


@given(st.binary(max_size=64) | values.map(lambda v: dumps(v)[:-1]) | values.map(lambda v: dumps(v) + b"x"))
@settings(max_examples=500, deadline=None)
def test_valid_agrees_with_loads_on_any_bytes(data: bytes) -> None:
    assert valid(data) == loads_reads(data)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": 1}', True),
        (b"  [1, 2, 3]\n", True),
        (b'"text"', True),
        (b"12", True),
        (b"NaN", True),  # simdjson refuses it; the standard library reads it, so it is JSON here
        (b'{"big": 123456789012345678901234567890}', True),  # beyond 64 bits: read by the stdlib
        (b'{"a": "\\ud800"}', True),  # a lone surrogate escape: the stdlib reads it
        (b"\xef\xbb\xbf{}", True),  # a UTF-8 byte order mark
        (b'{"a": 1', False),
        (b'{"a": 1}{"b": 2}', False),
        (b"[1, 2,]", False),
        (b'{"a": "\xff"}', False),
        (b"", False),
        (b"   ", False),
        (b"<html>oops</html>", False),
        (b"[" * 5000 + b"]" * 5000, False),  # deeper than either parser follows
    ],
)
def test_valid_on_the_edges(body: bytes, expected: bool) -> None:
    assert valid(body) is expected
    assert loads_reads(body) is expected


def test_a_large_body_is_checked_by_loads() -> None:
    body = dumps({"items": ["x" * 100] * (VALID_FAST_MAX // 100)})
    assert len(body) > VALID_FAST_MAX and valid(body)
    assert not valid(body[:-1])
