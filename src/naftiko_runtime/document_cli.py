"""``naftiko convert|import|export``: rewrite documents — a capability in the other dialect, an OpenAPI
description as a capability, a capability's REST adapters as OpenAPI.

Exit codes: 0 written, 1 the input cannot be read or converted (the findings say why), 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .spec import model as m
from .spec.loader import load_file

COMMANDS = ("convert", "import", "export")


def add_document_commands(sub: Any) -> None:
    convert = sub.add_parser(
        "convert",
        help="rewrite a capability file in the other dialect (alpha2 or beta5)",
        description="Rewrite a spec document as naftiko 1.0.0-alpha2 or ikanos 1.0.0-beta5. What the target "
        "cannot express is refused with findings; comments, key order and indentation are kept.",
    )
    convert.add_argument("file", metavar="FILE")
    convert.add_argument("--to", required=True, choices=("alpha2", "beta5"))
    convert.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")

    imp = sub.add_parser("import", help="write a capability from another description of an API")
    imp.add_argument("kind", choices=("openapi",))
    imp.add_argument("source", metavar="FILE|URL", help="Swagger 2.0, OpenAPI 3.0 or 3.1, JSON or YAML")
    imp.add_argument("-o", "--output", metavar="OUT", help="write the capability here (default: stdout)")

    exp = sub.add_parser("export", help="write the OpenAPI description a capability's REST adapters serve")
    exp.add_argument("kind", choices=("openapi",))
    exp.add_argument("capability", metavar="CAPABILITY")
    exp.add_argument(
        "-o", "--output", metavar="OUT", help="write here, as YAML for .yaml/.yml (default: stdout)"
    )
    exp.add_argument("--adapter", metavar="NAMESPACE", help="the REST adapter, when there are several")


def document_command(args: argparse.Namespace) -> int:
    if args.command == "convert":
        return convert_command(args.file, args.to, args.output)
    if args.command == "import":
        return import_openapi(args.source, args.output)
    return export_openapi(args.capability, args.output, args.adapter)


def convert_command(file: str, to: str, output: str | None) -> int:
    from .spec.dialects.convert import convert_text

    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{file}:1:1  $  error: cannot read the file: {exc}", file=sys.stderr)
        return 1
    converted, findings = convert_text(text, to, file)
    for finding in findings:
        print(finding.format(), file=sys.stderr)
    if converted is None:
        print(f"{file}: not converted to {to}", file=sys.stderr)
        return 1
    if output is None:
        sys.stdout.write(converted)
    else:
        Path(output).write_text(converted, encoding="utf-8")
    return 0


def import_openapi(source: str, output: str | None) -> int:
    from .convert.openapi_import import OpenApiImportError, dump, import_openapi, read_source

    try:
        capability, notes = import_openapi(read_source(source), source)
    except OpenApiImportError as exc:
        print(f"naftiko import: {exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"naftiko import: note: {note}", file=sys.stderr)
    _write(dump(capability, source), output)
    return 0


def export_openapi(file: str, output: str | None, adapter: str | None) -> int:
    from .convert.openapi_export import export_openapi

    result = load_file(file)
    for finding in result.findings:
        print(finding.format(), file=sys.stderr)
    if not result.ok or result.document is None:
        return 1
    documents = export_openapi(result.document, adapter)
    if len(documents) != 1:
        which = f"no REST adapter '{adapter}'" if adapter else f"{len(documents)} REST adapters"
        cap = result.document.capability
        names = ", ".join(a.namespace for a in cap.exposes if isinstance(a, m.ExposesRest)) if cap else ""
        print(f"naftiko export: {file} has {which} (REST adapters: {names or 'none'})", file=sys.stderr)
        return 1
    (document,) = documents.values()
    if output and output.endswith((".yaml", ".yml")):
        import yaml

        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    _write(text, output)
    return 0


def _write(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
