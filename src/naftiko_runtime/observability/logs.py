"""Log output: ``text`` (one readable line per record) or ``json`` (one JSON object per line).

Records may carry structured fields in ``extra={"fields": {...}}`` (the access log does): the text
format has them in its message already, the JSON format puts them at the top level of the object.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from ..terminal import Style

FORMATS = ("text", "json")
#: how a terminal shows each level name (text format, colour on)
LEVEL_COLOURS = {
    "DEBUG": ("dim",),
    "WARNING": ("yellow",),
    "ERROR": ("red", "bold"),
    "CRITICAL": ("red", "bold"),
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class ColourFormatter(logging.Formatter):
    """The text format with the level name coloured, and the start-up's ``ready:`` line in bold green."""

    def __init__(self, fmt: str, datefmt: str) -> None:
        super().__init__(fmt, datefmt)
        self.style_ = Style(True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        names = LEVEL_COLOURS.get(record.levelname)
        if names:
            line = line.replace(record.levelname, self.style_.paint(record.levelname, *names), 1)
        if record.name == "naftiko" and record.getMessage().startswith("ready:"):
            head, sep, tail = line.partition("ready:")
            line = head + self.style_.paint(sep + tail, "green", "bold")
        return line


def formatter(fmt: str, *, colour: bool = False) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    text, dates = "%(asctime)s %(levelname)-7s %(name)s  %(message)s", "%Y-%m-%dT%H:%M:%S"
    return ColourFormatter(text, dates) if colour else logging.Formatter(text, dates)


def configure_logging(level: str, fmt: str = "text", *, colour: bool = False) -> None:
    """Everything to stderr; ``naftiko`` loggers at ``level``, libraries at warning unless debugging;
    ``colour`` (text only) when stderr is a terminal that wants it (the caller decides)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt, colour=colour))
    numeric = logging.getLevelName(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric if numeric == logging.DEBUG else max(numeric, logging.WARNING))
    logging.getLogger("naftiko").setLevel(numeric)


__all__ = ["FORMATS", "JsonFormatter", "configure_logging", "formatter"]
