"""``outputRawFormat: avro``, read with fastavro (the maintained Avro implementation for Python, in C).

With ``outputSchema`` (an ``.avsc`` file, relative to the capability file) the body is one datum in
Avro's binary encoding, as the reference engine reads it. Without one, the body must be an Avro object
container file, which carries its own schema: its records are the value (one record alone is returned
as itself). Containers are read only uncompressed: a compressed block can expand far beyond the
bytes received.
"""

from __future__ import annotations

import datetime
import decimal
import io
import json
import math
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import PayloadError, SchemaFileError
from .text import check_size

_MAGIC = b"Obj\x01"


def prepare(schema_file: Path) -> Any:
    """The parsed schema of an ``.avsc`` file (at load)."""
    import fastavro

    try:
        raw = json.loads(schema_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaFileError(f"cannot read the Avro schema {schema_file} ({exc.strerror})") from None
    except ValueError as exc:
        raise SchemaFileError(f"the Avro schema {schema_file} is not JSON ({exc})") from None
    try:
        return fastavro.parse_schema(raw)
    except Exception as exc:  # fastavro raises SchemaParseException and plain errors alike
        raise SchemaFileError(f"the Avro schema {schema_file} is not valid ({exc})") from None


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    import fastavro

    check_size(body, "avro")
    schema = options.get("schema")
    try:
        if schema is not None:
            stream = io.BytesIO(body)
            value = fastavro.schemaless_reader(stream, schema, None)
            if stream.tell() != len(body):
                raise PayloadError(f"Avro with {len(body) - stream.tell()} bytes left over after the datum")
            return _plain(value)
        if not body.startswith(_MAGIC):
            raise PayloadError(
                "a body that is not an Avro container file (give the operation an outputSchema to read "
                "a bare Avro datum)"
            )
        reader = fastavro.reader(io.BytesIO(body))
        codec = reader.metadata.get("avro.codec", "null")
        if codec != "null":
            raise PayloadError(f"a '{codec}'-compressed Avro container, which this runtime does not expand")
        records = [_plain(r) for r in reader]
    except PayloadError:
        raise
    except (EOFError, ValueError, TypeError, IndexError, KeyError, OverflowError, MemoryError) as exc:
        raise PayloadError(f"a body that is not valid Avro ({type(exc).__name__})") from None
    except Exception as exc:  # fastavro's own read errors share no base class
        raise PayloadError(f"a body that is not valid Avro ({type(exc).__name__}: {exc})") from None
    return records[0] if len(records) == 1 else records


def _plain(value: Any) -> Any:
    """JSON values: bytes become text (latin-1, as Avro's JSON encoding does), logical types their text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value
