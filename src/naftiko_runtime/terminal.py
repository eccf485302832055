"""Colour for the terminal, and nothing when the output is piped, ``NO_COLOR`` is set or ``TERM`` is dumb.

``cli.py`` decides once (:func:`wants_colour`, with the environment it read) and passes a :class:`Style`
down; nothing here reads the environment itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}

#: one JSON token of pretty-printed output: a string (a key when a colon follows), a number, a literal
_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*")(?P<colon>\s*:)?'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<literal>\btrue\b|\bfalse\b|\bnull\b)"
)


def wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal only: never with ``NO_COLOR`` (https://no-color.org) or ``TERM=dumb``;
    ``FORCE_COLOR`` asks for it even when piped."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclass(frozen=True)
class Style:
    """Paints text with ANSI colours when ``enabled``; returns it unchanged otherwise."""

    enabled: bool = False

    def paint(self, text: str, *names: str) -> str:
        if not self.enabled or not names:
            return text
        return f"\x1b[{';'.join(_CODES[n] for n in names)}m{text}\x1b[0m"

    def ok(self, text: str) -> str:
        return self.paint(text, "green")

    def warn(self, text: str) -> str:
        return self.paint(text, "yellow")

    def error(self, text: str) -> str:
        return self.paint(text, "red", "bold")

    def dim(self, text: str) -> str:
        return self.paint(text, "dim")

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def severity(self, line: str, severity: str) -> str:
        """A finding line with its severity word painted (``FILE:L:C  $.path  error: ...``)."""
        painter = self.error if severity == "error" else self.warn
        return line.replace(f"  {severity}:", f"  {painter(severity)}:", 1)

    def json(self, value: Any) -> str:
        """``value`` as indented JSON, its keys, strings, numbers and literals coloured."""
        text = json.dumps(value, indent=2, ensure_ascii=False)
        if not self.enabled:
            return text

        def paint(match: re.Match[str]) -> str:
            if match["string"] is not None:
                if match["colon"] is not None:
                    return self.paint(match["string"], "blue", "bold") + match["colon"]
                return self.paint(match["string"], "green")
            if match["number"] is not None:
                return self.paint(match["number"], "cyan")
            return self.paint(match["literal"], "magenta")

        return _TOKEN.sub(paint, text)


PLAIN = Style(False)

__all__ = ["PLAIN", "Style", "wants_colour"]
