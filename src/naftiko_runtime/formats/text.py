"""What the text formats share: a size bound, charset-aware decoding, and a YAML reader without aliases.

The bound keeps a hostile upstream from making one request cost unbounded memory or CPU in a
pure-Python parser; JSON bodies are not bounded here (they take the C parser).
"""

from __future__ import annotations

import codecs
from typing import Any

import yaml

from .errors import PayloadError

#: the largest body a non-JSON decoder reads
MAX_BYTES = 16 * 1024 * 1024


def check_size(body: bytes, what: str) -> None:
    if len(body) > MAX_BYTES:
        limit = MAX_BYTES // (1024 * 1024)
        raise PayloadError(f"a {what} body of {len(body)} bytes, over the {limit} MiB this runtime decodes")


def text(body: bytes, content_type: str, what: str) -> str:
    """The body as text, in the charset the content type names (UTF-8 by default, BOM dropped)."""
    check_size(body, what)
    charset = "utf-8-sig"
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8-sig"
    try:
        return body.decode(charset)
    except UnicodeDecodeError as exc:
        shown = "utf-8" if charset == "utf-8-sig" else charset
        raise PayloadError(f"a {what} body that is not valid {shown} text (byte {exc.start})") from None


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases: aliases are how a small document expands to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise PayloadError(f"an alias at line {event.start_mark.line + 1}, which is refused")
        return super().compose_node(parent, index)


def load_yaml(source: str) -> Any:
    """Safe YAML without aliases; a :class:`PayloadError` says why not (to be prefixed by the caller)."""
    try:
        return yaml.load(source, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PayloadError(f"not valid YAML{where}") from None
    except RecursionError:
        raise PayloadError("nested too deeply to read") from None
