"""Decoding upstream bodies into JSON values, one decoder per ``outputRawFormat``.

Every decoder has the same shape: ``decode(body, content_type, options) -> JSON value``, raising
:class:`PayloadError` when the body is not the format it was declared as. ``options`` is what
:func:`prepare` compiled at load from the operation's ``outputSchema``. Adding a format is one module
here and one row in :data:`DECODERS` (plus one in :data:`PREPARERS` when it reads ``outputSchema``).
Parsers with native code are imported only when a capability uses their format. A format with no row
is reported at load (``consumes.check_support``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..spec.files import schema_file
from . import avro, binary, delimited, html, markdown, protobuf, xml
from . import json as _json
from . import yaml as _yaml
from .errors import PayloadError, SchemaFileError

Decoder = Callable[[bytes, str, Mapping[str, Any]], Any]

DECODERS: Mapping[str, Decoder] = {
    "json": _json.decode,
    "yaml": _yaml.decode,
    "xml": xml.decode,
    "csv": delimited.decode_csv,
    "tsv": delimited.decode_tsv,
    "psv": delimited.decode_psv,
    "html": html.decode,
    "markdown": markdown.decode,
    "avro": avro.decode,
    "protobuf": protobuf.decode,
    "binary": binary.decode,
}

#: formats a terminal call does not decode: the body is streamed to the caller as it is
#: (``consumes.stream``); their decoder serves only where JSON is needed (a step's output)
STREAMED: frozenset[str] = frozenset({"binary"})


def _avro(schema: str | None, base_dir: Path) -> Mapping[str, Any]:
    return {"schema": avro.prepare(schema_file(str(base_dir), schema))} if schema else {}


def _protobuf(schema: str | None, base_dir: Path) -> Mapping[str, Any]:
    if not schema:
        return {}
    message = schema.partition("#")[2] or None
    return {"schema": protobuf.prepare(schema_file(str(base_dir), schema), message)}


def _selector(schema: str | None, base_dir: Path) -> Mapping[str, Any]:
    if schema:
        html.check_selector(schema)
    return {"outputSchema": schema}


def _prefix(schema: str | None, base_dir: Path) -> Mapping[str, Any]:
    return {"outputSchema": schema}


#: ``prepare(outputSchema, capability directory) -> options``, run once at load; raises
#: :class:`SchemaFileError` (a missing file is already a load finding, ``spec.files``)
PREPARERS: Mapping[str, Callable[[str | None, Path], Mapping[str, Any]]] = {
    "avro": _avro,
    "protobuf": _protobuf,
    "html": _selector,
    "markdown": _prefix,
}


def prepare(fmt: str, schema: str | None, base_dir: Path) -> Mapping[str, Any]:
    preparer = PREPARERS.get(fmt)
    return preparer(schema, base_dir) if preparer is not None else {}


def decode(fmt: str, body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    """Decode with the format's decoder; a body nested deeper than a parser can follow is a PayloadError."""
    decoder = DECODERS.get(fmt)
    if decoder is None:  # consumes.check_support reports this at load
        raise PayloadError(f"a body in outputRawFormat '{fmt}', which this runtime does not decode")
    try:
        return decoder(body, content_type, options)
    except RecursionError:
        raise PayloadError(f"a {fmt} body nested too deeply to read") from None


__all__ = [
    "DECODERS",
    "PREPARERS",
    "STREAMED",
    "Decoder",
    "PayloadError",
    "SchemaFileError",
    "decode",
    "prepare",
]
