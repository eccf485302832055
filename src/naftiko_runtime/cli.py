"""The ``naftiko`` command: ``validate`` capability files and ``serve`` them.

Exit codes: 0 success, 1 the files have errors (or warnings under ``--strict``) or serving failed,
2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import SPEC_VERSION, __version__
from .spec.loader import load_file


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="naftiko",
        description=f"Validate and serve Naftiko capability files (spec {SPEC_VERSION}).",
    )
    parser.add_argument(
        "--version", action="version", version=f"naftiko-runtime {__version__} (spec {SPEC_VERSION})"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    validate = sub.add_parser("validate", help="check capability files and print every finding")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    validate.add_argument("--format", choices=("text", "json"), default="text")

    from .serve import add_serve_arguments

    serve = sub.add_parser("serve", help="serve capability files: every exposes block on its port")
    add_serve_arguments(serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.files, strict=args.strict, fmt=args.format)
    if args.command == "serve":
        from .serve import serve_command

        return serve_command(args)
    parser.print_help(sys.stderr)
    return 2


def validate(files: Sequence[str], *, strict: bool = False, fmt: str = "text") -> int:
    results = [load_file(f) for f in files]
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
        for r in results:
            for finding in r.findings:
                print(finding.format())
            errors, warnings = len(r.errors()), len(r.warnings())
            verdict = "invalid" if errors or r.document is None else "valid"
            print(f"{r.file}: {verdict} ({_count(errors, 'error')}, {_count(warnings, 'warning')})")
    return 1 if failed else 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
