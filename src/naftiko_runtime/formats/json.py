"""``outputRawFormat: json`` (the default)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import PayloadError


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise PayloadError(f"{_kind(content_type)} that is not JSON", excerpt=True) from None


def _kind(content_type: str) -> str:
    return content_type.split(";")[0] or "an unlabelled body"
