"""Decoding upstream bodies into JSON values, one decoder per ``outputRawFormat``.

Every decoder has the same shape: ``decode(body, content_type, options) -> JSON value``, raising
:class:`PayloadError` when the body is not the format it was declared as. Adding a format is one module
here and one row in :data:`DECODERS`; a format with no row is reported at load (``consumes.check_support``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import json as _json
from . import xml as _xml
from . import yaml as _yaml
from .errors import PayloadError

#: ``decode(body, content_type, options)``; ``options`` holds what the consumed operation declares for
#: its payload beyond the format (``outputSchema`` today), for formats that need a schema.
Decoder = Callable[[bytes, str, Mapping[str, Any]], Any]

DECODERS: Mapping[str, Decoder] = {
    "json": _json.decode,
    "yaml": _yaml.decode,
    "xml": _xml.decode,
}

__all__ = ["DECODERS", "Decoder", "PayloadError"]
