"""outputRawFormat decoders: one signature for every format; xml read into JSON values."""

from __future__ import annotations

import pytest

from naftiko_runtime.formats import DECODERS, PayloadError


def xml_to_json(body: bytes) -> object:
    return DECODERS["xml"](body, "application/xml", {})


def test_root_dropped_repeated_children_become_arrays_attributes_fields() -> None:
    body = b"""<?xml version="1.0"?>
    <vessels xmlns="urn:x">
      <vessel code="L-1"><name>Old Faithful</name><crew><id>c1</id><id>c2</id></crew></vessel>
      <vessel code="L-2"><name>Sea Breeze</name><note lang="en">slow</note></vessel>
    </vessels>"""
    assert xml_to_json(body) == {
        "vessel": [
            {"code": "L-1", "name": "Old Faithful", "crew": {"id": ["c1", "c2"]}},
            {"code": "L-2", "name": "Sea Breeze", "note": {"lang": "en", "": "slow"}},
        ]
    }


def test_a_single_text_root_is_a_string() -> None:
    assert xml_to_json(b"<status>ok</status>") == "ok"


@pytest.mark.parametrize(
    "body",
    [b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>', b"<r><unclosed></r>", b"not xml"],
)
def test_doctype_and_malformed_xml_are_refused(body: bytes) -> None:
    with pytest.raises(PayloadError):
        xml_to_json(body)


@pytest.mark.parametrize(
    ("fmt", "content_type", "body", "expected"),
    [
        ("json", "application/json", b'{"a": [1, 2]}', {"a": [1, 2]}),
        ("yaml", "application/yaml", b"a:\n- 1\n- 2\n", {"a": [1, 2]}),
        ("yaml", "application/json", b'{"a": [1, 2]}', {"a": [1, 2]}),
        ("xml", "application/xml", b"<r><a>1</a><a>2</a></r>", {"a": ["1", "2"]}),
    ],
)
def test_every_format_decodes_bytes_with_one_signature(
    fmt: str, content_type: str, body: bytes, expected: object
) -> None:
    assert DECODERS[fmt](body, content_type, {}) == expected


@pytest.mark.parametrize(
    ("fmt", "body", "message"),
    [
        ("json", b"<html>", "text/html that is not JSON"),
        ("yaml", b"a: [1\n", "text/html that is neither JSON nor YAML"),
        ("xml", b"{}", "a body that is not the XML it declares: not well-formed XML"),
    ],
)
def test_a_body_that_is_not_its_format_is_a_payload_error(fmt: str, body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match="^" + message):
        DECODERS[fmt](body, "text/html; charset=utf-8", {})
