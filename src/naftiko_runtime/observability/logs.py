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

FORMATS = ("text", "json")


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


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)-7s %(name)s  %(message)s", "%Y-%m-%dT%H:%M:%S")


def configure_logging(level: str, fmt: str = "text") -> None:
    """Everything to stderr; ``naftiko`` loggers at ``level``, libraries at warning unless debugging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    numeric = logging.getLevelName(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric if numeric == logging.DEBUG else max(numeric, logging.WARNING))
    logging.getLogger("naftiko").setLevel(numeric)


__all__ = ["FORMATS", "JsonFormatter", "configure_logging", "formatter"]
