"""Checks on the files a document names beside itself: ``outputSchema`` schema files (and, for formats
that can do without one, a warning saying what is assumed instead).

Relative paths are read from the capability file's directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path as FsPath

from . import model as m
from .findings import Path

Check = tuple[str, Path, str, bool]

#: formats whose ``outputSchema`` names a schema file, and what is assumed without one
SCHEMA_FILE_FORMATS = {
    "avro": "the body is read as an Avro container file, which carries its own schema",
    "protobuf": "the message is read by field number (keys are the numbers, nested messages are guessed)",
}


def schema_file(base_dir: str, output_schema: str) -> FsPath:
    name = output_schema.removeprefix("file://").partition("#")[0]
    return (FsPath(base_dir) / name).resolve()


def check_files(doc: m.NaftikoDocument) -> Iterator[Check]:
    consumers = doc.consumes + (doc.capability.consumes if doc.capability else ())
    for consumer in consumers:
        for resource in consumer.resources:
            for op in resource.operations:
                yield from _output_schema(doc, op)


def _output_schema(doc: m.NaftikoDocument, op: m.ConsumedHttpOperation) -> Iterator[Check]:
    assumed = SCHEMA_FILE_FORMATS.get(op.output_raw_format)
    if assumed is None:
        return
    if not op.output_schema:
        yield (
            "warning",
            (*op.path, "outputRawFormat"),
            f"{op.output_raw_format} without outputSchema: {assumed}",
            False,
        )
        return
    target = schema_file(doc.base_dir, op.output_schema)
    if not target.is_file():
        yield "error", (*op.path, "outputSchema"), f"schema file {target} does not exist", False
