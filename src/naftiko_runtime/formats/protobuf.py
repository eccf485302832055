"""``outputRawFormat: protobuf``: one message in the protobuf binary encoding.

With ``outputSchema`` (a ``.proto`` file relative to the capability file, optionally ``#Message`` to
pick the message; by default the file's first message, as the reference engine does) the schema is
compiled at load by ``protoc`` from grpcio-tools (the reference compiler, so every valid ``.proto`` —
imports, nested types, maps, oneofs — means what it means everywhere) and the body is read by the
official ``protobuf`` runtime. Fields come out under their ``.proto`` names; 64-bit integers stay
numbers, enums are their names, bytes are base64.

Without ``outputSchema`` the message is read by field number (keys are the numbers); a
length-delimited field is text when it is printable UTF-8, else a nested message when it parses as
one, else base64. The loader warns that this is what it assumed.
"""

from __future__ import annotations

import base64
import math
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import PayloadError, SchemaFileError
from .text import check_size

_MAX_GUESS_DEPTH = 32


def prepare(schema_file: Path, message: str | None) -> Any:
    """The message class the body is read into, compiled from ``schema_file`` (at load)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    if not schema_file.is_file():
        raise SchemaFileError(f"the protobuf schema {schema_file} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{schema_file.parent}",
                "--include_imports",
                f"--descriptor_set_out={out}",
                str(schema_file),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            reason = " ".join(done.stderr.split()) or f"protoc exited with {done.returncode}"
            raise SchemaFileError(f"the protobuf schema {schema_file} does not compile: {reason}")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:
        pool.Add(proto)
    target = files.file[-1]
    if message is None:
        if not target.message_type:
            raise SchemaFileError(f"the protobuf schema {schema_file} declares no message")
        message = target.message_type[0].name
    full = message if "." in message or not target.package else f"{target.package}.{message}"
    try:
        descriptor = pool.FindMessageTypeByName(full)
    except KeyError:
        raise SchemaFileError(f"the protobuf schema {schema_file} declares no message '{message}'") from None
    return message_factory.GetMessageClass(descriptor)


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    from google.protobuf.message import DecodeError

    check_size(body, "protobuf")
    cls = options.get("schema")
    if cls is None:
        fields = _guess(body, 0)
        if fields is None:
            raise PayloadError("a body that is not a protobuf message")
        return fields
    msg = cls()
    try:
        msg.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise PayloadError(f"a body that is not a {cls.DESCRIPTOR.full_name} message ({exc})") from None
    return _message(msg)


def _message(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in msg.ListFields():
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            vfield = entry.fields_by_name["value"]
            out[field.name] = {str(k): _scalar(vfield, v) for k, v in value.items()}
        elif _repeated(field):
            out[field.name] = [_scalar(field, v) for v in value]
        else:
            out[field.name] = _scalar(field, value)
    return out


def _repeated(field: Any) -> bool:
    flag = getattr(field, "is_repeated", None)
    return bool(flag) if flag is not None else bool(field.label == field.LABEL_REPEATED)


def _scalar(field: Any, value: Any) -> Any:
    if field.message_type is not None:
        return _message(value)
    if field.enum_type is not None:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _guess(data: bytes, depth: int) -> dict[str, Any] | None:
    """Read ``data`` as a message of unknown type; ``None`` when it is not one."""
    from google.protobuf import empty_pb2, unknown_fields
    from google.protobuf.message import DecodeError

    holder = empty_pb2.Empty()
    try:
        holder.ParseFromString(data)
        fields = list(unknown_fields.UnknownFieldSet(holder))
    except (DecodeError, RecursionError):
        return None
    if not fields:
        return None if data else {}
    out: dict[str, Any] = {}
    for f in fields:
        value: Any = f.data
        if f.wire_type == 2:
            value = _length_delimited(f.data, depth)
        elif f.wire_type == 3:
            value = None
        key = str(f.field_number)
        if key in out:
            prior = out[key]
            out[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            out[key] = value
    return out


def _length_delimited(data: bytes, depth: int) -> Any:
    try:
        decoded = data.decode("utf-8")
        if all(c.isprintable() or c in "\t\n\r" for c in decoded):
            return decoded
    except UnicodeDecodeError:
        pass
    if depth < _MAX_GUESS_DEPTH:
        nested = _guess(data, depth + 1)
        if nested:
            return nested
    return base64.b64encode(data).decode("ascii")
