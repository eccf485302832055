"""Findings: what validation says about a document, each pinned to a file, line, column and JSON path."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
Path = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def format_path(path: Iterable[str | int]) -> str:
    """Render a JSON path: ``$.capability.exposes[0].resources[2]``; a key that is not an identifier is
    quoted as RFC 9535 writes it: ``$.binds[0].keys['a b']``, ``$.x['it\\'s']``."""
    out = ["$"]
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out.append(f"[{part}]")
        elif isinstance(part, str) and _IDENTIFIER.fullmatch(part):
            out.append(f".{part}")
        else:
            text = str(part).replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{text}']")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    file: str
    line: int
    column: int
    path: Path
    message: str

    @property
    def json_path(self) -> str:
        return format_path(self.path)

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.column}  {self.json_path}  {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.json_path,
            "message": self.message,
        }

    def escalated(self) -> Finding:
        """The same finding as an error (``--strict``)."""
        return Finding("error", self.file, self.line, self.column, self.path, self.message)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.severity != "error"))
