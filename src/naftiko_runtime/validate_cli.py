"""``naftiko validate PATH...``: load capability files and folders and print every finding, then a verdict
per file (coloured on a terminal: the caller passes the :class:`~.terminal.Style`).

Exit codes: 0 no errors, 1 errors (or warnings under ``--strict``), 2 usage errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .errors import NaftikoError
from .spec.dialects import versions_read
from .spec.loader import load_file
from .terminal import PLAIN, Style


def add_validate_command(sub: Any) -> None:
    validate = sub.add_parser(
        "validate",
        help="check capability files and print every finding",
        description=f"Check capability files and print every finding. Versions read: {versions_read()}. "
        "A file is read by its root key; Ikanos files are mapped onto the alpha2 model "
        "(keyed collections become named lists, display is label, flows are functions).",
    )
    validate.add_argument(
        "files", nargs="+", metavar="PATH", help="capability files or folders of them (as serve takes)"
    )
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    validate.add_argument("--format", choices=("text", "json"), default="text")


def validate(
    files: Sequence[str],
    *,
    strict: bool = False,
    fmt: str = "text",
    style: Style = PLAIN,
    progress: bool = False,
) -> int:
    """``style`` colours the findings and verdicts; ``progress`` shows which file is being read (on a
    terminal's stderr, erased when done)."""
    from .consumes import check_support
    from .engine import check_steps
    from .exposes import check_adapters
    from .spec.discovery import discover

    try:
        paths = discover(files)
    except NaftikoError as exc:
        print(f"naftiko validate: {exc}", file=sys.stderr)
        return exc.exit_code
    # what the runtime cannot run is a warning here (the document is valid); ``serve`` refuses it
    results = []
    for n, path in enumerate(paths, 1):
        if progress:
            print(f"\r\x1b[K[{n}/{len(paths)}] {path}", end="", file=sys.stderr, flush=True)
        results.append(load_file(str(path)))
    if progress:
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    results = [
        replace(
            r,
            findings=(
                *r.findings,
                *check_support(r, severity="warning"),
                *check_steps(r, severity="warning"),
                *check_adapters(r, severity="warning"),
            ),
        )
        for r in results
    ]
    if strict:
        results = [r.strict() for r in results]
    failed = any(r.errors() or r.document is None for r in results)
    if fmt == "json":
        report = [
            {
                "file": r.file,
                "valid": not r.errors() and r.document is not None,
                "errors": len(r.errors()),
                "warnings": len(r.warnings()),
                "findings": [f.as_dict() for f in r.findings],
            }
            for r in results
        ]
        print(json.dumps(report if len(report) > 1 else report[0], indent=2))
    else:
        valid = 0
        for r in results:
            for finding in r.findings:
                print(style.severity(finding.format(), finding.severity))
            errors, warnings = len(r.errors()), len(r.warnings())
            ok = not errors and r.document is not None
            valid += ok
            verdict = style.ok("valid") if ok else style.error("invalid")
            counts = f"{_count(errors, 'error')}, {_count(warnings, 'warning')}"
            print(f"{r.file}: {verdict} ({style.warn(counts) if warnings and ok else counts})")
        if len(results) > 1:
            invalid = len(results) - valid
            total = f"{len(results)} files: {valid} valid, {invalid} invalid"
            print(style.bold(total) if not invalid else style.error(total))
    return 1 if failed else 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
