"""``naftiko init [NAME]``: write a new capability file that validates and serves at once.

From scratch it is a mock (an aggregate function whose outputs are written in the file) exposed over REST
and MCP, so it answers with no upstream; on a terminal it asks for the name, description and ports (the
defaults in brackets), elsewhere it takes them from the flags. ``--from-openapi`` writes the capability
``naftiko import openapi`` writes instead. Either way the new file is validated before the command ends.

Exit codes: 0 written and valid, 1 the OpenAPI source cannot be imported or the file does not validate,
2 usage errors (a bad name or port, a file that exists without ``--force``, a prompt left unanswered).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import UsageError
from .terminal import PLAIN, Style

COMMANDS = ("init",)
Ask = Callable[[str], str]

_TEMPLATE = """\
# {label}: scaffolded by naftiko init. It serves at once with no upstream API: `hello` is a mock whose
# output values are written below. To call a real API, add a `consumes` entry (a namespace, its baseUri,
# resources and operations) and give the function a `call: NAMESPACE.OPERATION` instead of values
# (`naftiko init --from-openapi FILE` writes all of that from an OpenAPI description).
#   naftiko validate {file}
#   naftiko serve {file}          REST on :{rest_port}, MCP on :{mcp_port}/mcp
#   naftiko call {file} hello name=you
naftiko: 1.0.0-alpha2
info:
  label: {label_json}
  description: {description_json}
  created: '{today}'
  modified: '{today}'
capability:
  aggregates:
  - label: {label_json}
    namespace: {name}
    functions:
    - name: hello
      description: Greet someone (a mock; replace it with a call to your API).
      semantics: {{safe: true, idempotent: true}}
      inputParameters:
      - {{name: name, type: string, required: true, description: Who to greet.}}
      outputParameters:
      - {{name: message, type: string, value: 'Hello, {{{{name}}}}!'}}
  exposes:
  - type: rest
    namespace: {name}-rest
    port: {rest_port}
    resources:
    - path: /hello
      name: hello
      description: A greeting.
      operations:
      - method: GET
        name: hello
        ref: {name}.hello
        inputParameters:
        - {{name: name, in: query, type: string, description: Who to greet.}}
  - type: mcp
    namespace: {name}-mcp
    port: {mcp_port}
    description: {tools_json}
    tools:
    - name: hello
      ref: {name}.hello
"""


def add_init_command(sub: Any) -> None:
    init = sub.add_parser(
        "init",
        help="write a new capability file that validates and serves at once",
        description="Write NAME.yaml: a mock capability over REST and MCP (prompts on a terminal), or, with "
        "--from-openapi, the capability an OpenAPI description imports as. The file is validated at once.",
    )
    init.add_argument("name", nargs="?", metavar="NAME", help="the capability's name (kebab-case)")
    init.add_argument("--from-openapi", metavar="FILE|URL", help="import this OpenAPI description")
    init.add_argument("--dir", default=".", metavar="DIR", help="write the file here (default: .)")
    init.add_argument("--description", help="what the capability does")
    init.add_argument("--rest-port", type=int, default=8080, metavar="PORT", help="default %(default)d")
    init.add_argument("--mcp-port", type=int, default=9090, metavar="PORT", help="default %(default)d")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--no-input", action="store_true", help="never prompt; take the flags and defaults")


def init_command(args: argparse.Namespace, *, ask: Ask | None, style: Style = PLAIN) -> int:
    """``ask`` prompts for a value on a terminal (None: take the flags and defaults)."""
    from .validate_cli import validate

    try:
        path, text = _openapi(args) if args.from_openapi else _scratch(args, ask)
        if path.exists() and not args.force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")
    except UsageError as exc:
        print(f"naftiko init: {exc}", file=sys.stderr)
        return 2
    except _ImportFailed as exc:
        print(f"naftiko init: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):  # a prompt left unanswered
        print("\nnaftiko init: stopped; nothing written", file=sys.stderr)
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    if validate([str(path)], style=style) != 0:
        return 1
    shown = str(path)
    first = _first_operation(path)
    print(style.bold("next:"))
    print(f"  naftiko serve {shown}")
    print(f"  naftiko call {shown}{f' {first}' if first else ''}    (in this process; no server needed)")
    return 0


class _ImportFailed(Exception):
    pass


def _name(text: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")
    if not name or not name[0].isalpha():
        raise UsageError(f"NAME must start with a letter (letters, digits and dashes), got {text!r}")
    return name


def _port(value: str | int, option: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{option}: a port is a number from 1 to 65535, got {text!r}")
    return int(text)


def _scratch(args: argparse.Namespace, ask: Ask | None) -> tuple[Path, str]:
    def value(prompt: str, given: Any, default: Any) -> str:
        if given is not None or ask is None:
            return str(given if given is not None else default)
        answer = ask(f"{prompt} [{default}]: ").strip()
        return answer or str(default)

    name = _name(value("Name", args.name, "my-capability"))
    label = name.replace("-", " ").capitalize()
    description = value("Description", args.description, f"{label}: what it does, in one sentence.")
    rest_port = _port(value("REST port", None if ask else args.rest_port, args.rest_port), "REST port")
    mcp_port = _port(value("MCP port", None if ask else args.mcp_port, args.mcp_port), "MCP port")
    if rest_port == mcp_port:
        raise UsageError(f"the REST and MCP adapters need two ports, got {rest_port} twice")
    path = Path(args.dir) / f"{name}.yaml"
    text = _TEMPLATE.format(
        name=name,
        label=label,
        label_json=json.dumps(label),
        description_json=json.dumps(description),
        tools_json=json.dumps(f"{label} tools."),
        file=path,
        rest_port=rest_port,
        mcp_port=mcp_port,
        today=datetime.date.today().isoformat(),
    )
    return path, text


def _openapi(args: argparse.Namespace) -> tuple[Path, str]:
    from .convert.openapi_import import OpenApiImportError, dump, import_openapi, kebab, read_source

    source = args.from_openapi
    try:
        capability, notes = import_openapi(read_source(source), source)
    except OpenApiImportError as exc:
        raise _ImportFailed(str(exc)) from None
    for note in notes:
        print(f"naftiko init: note: {note}", file=sys.stderr)
    rest, mcp = capability["capability"]["exposes"]
    rest["port"], mcp["port"] = _port(args.rest_port, "--rest-port"), _port(args.mcp_port, "--mcp-port")
    if args.description:
        capability["info"]["description"] = args.description
    name = _name(args.name) if args.name else kebab(capability["info"]["label"])
    return Path(args.dir) / f"{name}.yaml", dump(capability, source)


def _first_operation(path: Path) -> str:
    """The first MCP tool's name, for the hint the command prints."""
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        exposes = document["capability"]["exposes"]
        tools = next(a["tools"] for a in exposes if a.get("type") == "mcp")
        return str(tools[0]["name"]) + (" name=you" if tools[0]["name"] == "hello" else "")
    except (KeyError, StopIteration, IndexError, TypeError, yaml.YAMLError):
        return ""


__all__ = ["COMMANDS", "add_init_command", "init_command"]
