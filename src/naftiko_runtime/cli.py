"""The ``naftiko`` command: ``validate`` capability files (:mod:`.validate_cli`), ``serve`` them, ``init`` a
new one (:mod:`.init_cli`), ``call`` an operation or tool (:mod:`.call_cli`), read a running server's
control adapter (``health``, ``status``, ``metrics``, ``traces``: :mod:`.control_cli`), rewrite documents
(``convert``, ``import openapi``, ``export openapi``: :mod:`.document_cli`), and print a shell
``completion`` script (:mod:`.completion_cli`).

Exit codes: 0 success, 1 the files have errors (or warnings under ``--strict``) or serving failed,
2 usage errors (each error class carries its ``exit_code``). This is the one place that reads the
process environment (and decides on colour: :mod:`.terminal`); everything below gets it passed in.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import SPEC_VERSION, __version__
from .binds import parse_dotenv
from .call_cli import COMMANDS as CALL_COMMANDS
from .call_cli import add_call_command, call_command
from .completion_cli import COMMANDS as COMPLETION_COMMANDS
from .completion_cli import add_completion_command, completion_command
from .consumes.http import Timeouts
from .consumes.policies import PolicySettings, flag_settings, load_settings
from .control_cli import COMMANDS as CONTROL_COMMANDS
from .control_cli import add_control_commands, control_command
from .document_cli import COMMANDS as DOCUMENT_COMMANDS
from .document_cli import add_document_commands, document_command
from .errors import BindingError, ConfigError, NaftikoError, SpecError, UsageError
from .init_cli import COMMANDS as INIT_COMMANDS
from .init_cli import add_init_command, init_command
from .terminal import Style, wants_colour
from .validate_cli import add_validate_command, validate

# The parser is built for every command, so the server stack (uvicorn, aiohttp, Starlette) is imported
# only when something is served.

log = logging.getLogger("naftiko")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="naftiko",
        description=f"Validate and serve Naftiko capability files (spec {SPEC_VERSION}, and the Ikanos "
        "dialect up to 1.0.0-beta5).",
    )
    parser.add_argument(
        "--version", action="version", version=f"naftiko-runtime {__version__} (spec {SPEC_VERSION})"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    add_validate_command(sub)

    serve = sub.add_parser("serve", help="serve capability files: every exposes block on its port")
    add_serve_arguments(serve)
    add_init_command(sub)
    add_call_command(sub)
    add_control_commands(sub)
    add_document_commands(sub)
    add_completion_command(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and (args.command != "call" or any(w.startswith("-") for w in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:  # call's NAME and name=value arguments after an option
        if args.name is None:
            args.name, extra = extra[0], extra[1:]
        args.args += extra
    if args.command == "validate":
        style, progress = _style(sys.stdout), _style(sys.stderr).enabled
        return validate(args.files, strict=args.strict, fmt=args.format, style=style, progress=progress)
    if args.command == "serve":
        return serve_command(args, os.environ)
    if args.command in CALL_COMMANDS:
        try:
            environ = environment(args.env_file, os.environ)
            upstreams = _upstreams(args.upstream)
        except NaftikoError as exc:
            print(f"naftiko call: {exc}", file=sys.stderr)
            return exc.exit_code
        out, err = _style(sys.stdout), _style(sys.stderr)
        return call_command(args, environ, upstreams, out=out, err=err)
    if args.command in CONTROL_COMMANDS:
        return control_command(args, os.environ)
    if args.command in INIT_COMMANDS:
        interactive = not args.no_input and sys.stdin.isatty() and sys.stdout.isatty()
        return init_command(args, ask=input if interactive else None, style=_style(sys.stdout))
    if args.command in COMPLETION_COMMANDS:
        return completion_command(args, parser)
    if args.command in DOCUMENT_COMMANDS:
        return document_command(args)
    parser.print_help(sys.stderr)
    return 2


# --- serve ---------------------------------------------------------------------------------------------


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="capability files or folders of them")
    parser.add_argument(
        "--host",
        default=None,
        help="interface to listen on when an adapter sets no address (default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="NAMESPACE=PORT",
        help="listen on PORT for adapter NAMESPACE (0 picks a free port); repeatable",
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAMESPACE=URL",
        help="send consumed namespace NAMESPACE to URL instead of its baseUri; repeatable",
    )
    parser.add_argument(
        "--env-file",
        action="append",
        default=[],
        metavar="FILE",
        help="load KEY=value lines into the environment before binds resolve",
    )
    parser.add_argument("--strict", action="store_true", help="refuse to start on validation warnings")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument(
        "--log-format",
        default="text",
        choices=("text", "json"),
        help="text lines, or one JSON object per line (default text)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve with N processes sharing each port (default 1)",
    )
    defaults = Timeouts()
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=defaults.total,
        metavar="SECONDS",
        help="give up on an upstream call after SECONDS (default %(default)g): 504",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=defaults.connect,
        metavar="SECONDS",
        help="give up connecting to an upstream after SECONDS (default %(default)g)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=512,  # server.guard.DEFAULT_MAX_IN_FLIGHT (the server package is imported only to serve)
        metavar="N",
        help="requests each adapter runs at once (default %(default)d); one more gets 503 + Retry-After",
    )
    parser.add_argument(
        "--upstream-config",
        default=None,
        metavar="FILE",
        help="per-namespace timeouts, retries, limits and circuit breakers (YAML or JSON; see README)",
    )
    parser.add_argument(
        "--upstream-limit",
        action="append",
        default=[],
        metavar="NAMESPACE=N",
        help="at most N calls in flight to a consumed namespace ('*' for all); more wait briefly, then 503",
    )
    parser.add_argument(
        "--upstream-attempts",
        action="append",
        default=[],
        metavar="NAMESPACE=N",
        help="attempts at most for calls that are safe to repeat ('*' for all; 1 turns retries off)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name MCP clients may use besides loopback and the bound address "
        "(DNS-rebinding protection); repeatable",
    )
    parser.add_argument(
        "--reload",
        action="store_true",
        help="reload the capability files when they change (development; SIGHUP reloads at any time)",
    )
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="serve the capability's stdio MCP adapter on stdin/stdout (one capability only)",
    )


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            raise UsageError(f"{option} expects NAMESPACE=VALUE, got {value!r}")
        out[key] = rest
    return out


def _ports(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, text in _pairs(values, "--port").items():
        if not text.isdigit() or int(text) > 65535:
            raise UsageError(f"--port {key}={text}: the port must be a number from 0 to 65535")
        out[key] = int(text)
    return out


def _upstreams(values: Sequence[str]) -> dict[str, str]:
    out = _pairs(values, "--upstream")
    for key, url in out.items():
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--upstream {key}={url}: the URL must start with http:// or https://")
    return out


def environment(files: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` over the ``KEY=value`` lines of the files: variables already set win."""
    merged: dict[str, str] = {}
    for file in files:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise BindingError(f"--env-file {file}: cannot read it ({reason})") from None
        for key, value in parse_dotenv(text).items():
            merged.setdefault(key, value)
    merged.update(environ)
    return merged


def serve_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """``naftiko serve``: a start-up failure is a NaftikoError, one line on stderr, exit ``exit_code``."""
    from .observability.logs import configure_logging

    configure_logging(args.log_level, args.log_format, colour=_style(sys.stderr).enabled)
    from .server.plan import prepare
    from .server.run import run, run_async, run_stdio
    from .server.workers import run_workers

    say = _stderr
    try:
        if args.workers < 1:
            raise UsageError("--workers must be at least 1")
        if args.stdio and args.workers > 1:
            raise UsageError("--stdio serves one stdio session: it cannot use --workers")
        if args.reload and (args.stdio or args.workers > 1):
            raise UsageError("--reload watches files for one process: not with --stdio or --workers")
        ports, upstreams = _ports(args.port), _upstreams(args.upstream)
        if args.max_in_flight < 1:
            raise UsageError("--max-in-flight must be at least 1")
        if args.upstream_timeout <= 0 or args.connect_timeout <= 0:
            raise UsageError("--upstream-timeout and --connect-timeout must be positive")
        plan = prepare(
            args.paths,
            environ=environment(args.env_file, environ),
            host=args.host,
            ports=ports,
            upstreams=upstreams,
            strict=args.strict,
            stdio=args.stdio,
            timeouts=Timeouts(connect=args.connect_timeout, total=args.upstream_timeout),
            policies=_policies(args),
            max_in_flight=args.max_in_flight,
            allow_hosts=args.allow_host,
            on_finding=lambda f: say(f.format()),
            reuse_port=args.workers > 1,
            # schema deviations are warnings: one process reports them once its adapters answer
            defer_schema=not args.stdio and args.workers == 1,
        )
    except SpecError as exc:
        for finding in exc.findings:
            say(finding.format())
        files = sorted({f.file for f in exc.findings if f.severity == "error"})
        say(
            f"naftiko serve: not starting: {', '.join(files)} {'has' if len(files) == 1 else 'have'} errors"
            + (" (warnings count as errors with --strict)" if args.strict else "")
        )
        return exc.exit_code
    except NaftikoError as exc:
        say(f"naftiko serve: {exc}")
        return exc.exit_code
    try:
        if plan.stdio is not None:
            run_async(run_stdio(plan))
        elif args.workers > 1:
            return run_workers(plan, args.workers)
        else:
            run_async(run(plan, watch=args.reload))
    except KeyboardInterrupt:
        pass
    except NaftikoError as exc:
        say(f"naftiko serve: {exc}")
        return exc.exit_code
    finally:
        plan.close()
    return 0


def _policies(args: argparse.Namespace) -> PolicySettings:
    """The runtime config file, then the flags over it."""
    settings = load_settings(args.upstream_config) if args.upstream_config else PolicySettings()
    try:
        settings = flag_settings("--upstream-limit", "limit", args.upstream_limit).over(settings)
        return flag_settings("--upstream-attempts", "attempts", args.upstream_attempts).over(settings)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _style(stream: object) -> Style:
    return Style(wants_colour(stream, os.environ))  # type: ignore[arg-type]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
