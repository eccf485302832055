"""``outputRawFormat: binary`` read as a JSON value: the body's base64 text.

A terminal call never decodes a binary body: it is streamed to the caller (``consumes.stream``). Only
where a binary body must become JSON (an orchestration step's output) is it read whole and given as
base64, the form JSON carries bytes in.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> str:
    return base64.b64encode(body).decode("ascii")
