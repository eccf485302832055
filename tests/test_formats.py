"""outputRawFormat: xml, read into JSON values."""

from __future__ import annotations

import pytest

from naftiko_runtime.formats import FormatError, xml_to_json


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
    with pytest.raises(FormatError):
        xml_to_json(body)
