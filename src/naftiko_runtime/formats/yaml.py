"""``outputRawFormat: yaml``. JSON is YAML too, and the JSON parser is far faster, so it goes first."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from .errors import PayloadError


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError:
        kind = content_type.split(";")[0] or "an unlabelled body"
        raise PayloadError(f"{kind} that is neither JSON nor YAML", excerpt=True) from None
