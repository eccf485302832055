"""``outputRawFormat: xml``, read with the standard library's expat-based ElementTree.

The reading is the one capability authors rely on: the root element is dropped and its content
becomes the value; an element with only text is a string; repeated child elements become an array;
attributes become fields; text beside children or attributes goes under ``""``. Scalars stay strings.
Documents with a DOCTYPE are refused: entity declarations are how XML bombs and external-entity reads
get in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from .errors import PayloadError
from .text import check_size


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    check_size(body, "xml")
    if b"<!DOCTYPE" in body.upper():
        raise PayloadError("a body that is not the XML it declares: XML with a DOCTYPE is refused")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise PayloadError(f"a body that is not the XML it declares: not well-formed XML ({exc})") from None
    return _element(root)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # "{namespace}name" -> "name"


def _element(element: ElementTree.Element) -> Any:
    children = list(element)
    text = (element.text or "").strip()
    if not children and not element.attrib:
        return text
    value: dict[str, Any] = {_local(k): v for k, v in element.attrib.items()}
    groups: dict[str, list[Any]] = {}
    for child in children:
        groups.setdefault(_local(child.tag), []).append(_element(child))
    for name, items in groups.items():
        value[name] = items[0] if len(items) == 1 else items
    if text:
        value[""] = text
    return value
