"""``outputRawFormat: yaml``. JSON is YAML too, and the JSON parser is far faster, so it goes first.

YAML anchors and aliases are refused: they are how a few bytes expand into gigabytes of JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import PayloadError
from .text import load_yaml, text


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        return load_yaml(text(body, content_type, "yaml"))
    except PayloadError as exc:
        kind = content_type.split(";")[0] or "an unlabelled body"
        raise PayloadError(f"{kind} that is neither JSON nor YAML ({exc})", excerpt=True) from None
