"""Reading an upstream response: the error for a failure status, and the payload decoded as declared.

Invocations and steps both use these; a body is redacted before any of it reaches an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import formats
from ..binds import Redactor
from ..consumes.http import BoundOperation, HttpConsumer, UpstreamResponse
from ..errors import SpecFileError, UpstreamPayloadError, UpstreamStatusError
from ..spec import model as m
from ..spec.findings import format_path


def looks_json(content_type: str, body: bytes) -> bool:
    if "json" in content_type or "json" in content_type.lower():
        return True
    head = body.lstrip()[:1]
    return head in (b"{", b"[") and not content_type.lower().startswith(("text/html", "application/xml"))


#: the most of an upstream's error body a caller gets back (characters of its JSON or text)
MAX_ERROR_BODY = 4096


def upstream_body(response: UpstreamResponse, redact: Redactor) -> Any:
    """An upstream's error body as a caller gets it: parsed JSON when it is JSON and fits in
    :data:`MAX_ERROR_BODY`, else its text clipped to that; None when there is none. Redacted either way."""
    if not response.body.strip():
        return None
    if looks_json(response.content_type, response.body):
        try:
            text = redact(json.dumps(json.loads(response.body), ensure_ascii=False, separators=(",", ":")))
        except (ValueError, RecursionError):
            text = ""
        if text and len(text) <= MAX_ERROR_BODY:
            return json.loads(text)
    text = redact(response.body[: MAX_ERROR_BODY * 4].decode("utf-8", "replace").strip())
    return text if len(text) <= MAX_ERROR_BODY else text[: MAX_ERROR_BODY - 1] + "…"


def status_error(name: str, response: UpstreamResponse, redact: Redactor) -> UpstreamStatusError:
    """The error for an upstream status of 400 or more from the operation called ``name``."""
    excerpt = response.text_excerpt(redact)
    detail = f"{name} returned HTTP {response.status}"
    if response.reason:
        detail += f" {response.reason}"
    if excerpt:
        detail += f": {excerpt}"
    if response.retry_after is not None:
        detail += f" (retry after {max(1, math.ceil(response.retry_after))} s)"
    error = UpstreamStatusError(
        detail,
        operation=name,
        upstream_status=response.status,
        upstream_body=upstream_body(response, redact),
    )
    error.with_retry_after(response.retry_after)
    return error


def prepare_formats(document: m.NaftikoDocument, consumers: Iterable[HttpConsumer]) -> None:
    """Compile once what each operation's format reads from ``outputSchema`` (schema files, selectors)."""
    for consumer in consumers:
        for op in consumer.operations.values():
            spec = op.spec
            try:
                prepared = formats.prepare(
                    spec.output_raw_format, spec.output_schema, Path(document.base_dir)
                )
            except formats.SchemaFileError as exc:
                where = format_path((*spec.path, "outputSchema"))
                raise SpecFileError(f"{document.file}: {where}: {exc}") from None
            op.decode_options = {**op.decode_options, **prepared}


def decode(op: BoundOperation, response: UpstreamResponse, redact: Redactor) -> Any:
    fmt = op.spec.output_raw_format or "json"
    try:
        return formats.decode(fmt, response.body, response.content_type, op.decode_options)
    except formats.PayloadError as exc:
        detail = f"{op.qualified} answered HTTP {response.status} with {exc}"
        if exc.excerpt:
            detail += f": {response.text_excerpt(redact, 120)}"
        raise UpstreamPayloadError(detail, operation=op.qualified) from None
