"""``naftiko-inngest-dev`` / ``python -m naftiko_inngest_dev``: serve the stand-in with uvicorn."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Sequence

import uvicorn

from .app import create_app
from .config import ConfigError, DevConfig

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="naftiko-inngest-dev",
        description=(
            "A local Inngest-compatible server (Event API, REST v1 and v2) with simulated runs and "
            "fault injection under /_stub/. Without --config it serves a demo app."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8288, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="YAML or JSON config file (default: the built-in demo)"
    )
    parser.add_argument(
        "--event-key",
        action="append",
        default=[],
        metavar="KEY",
        help="accepted event key (repeatable); without any, every key is accepted (dev mode)",
    )
    parser.add_argument(
        "--signing-key",
        action="append",
        default=[],
        metavar="KEY",
        help="signing key for /v1 and /v2 bearer auth (repeatable); without any, no auth",
    )
    parser.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="APP/FN=EVENT_PATTERN",
        help="register a function with one 1-second step, triggered by EVENT_PATTERN (repeatable)",
    )
    parser.add_argument(
        "--time-scale", type=float, metavar="X", help="clock speed (1 = real time, 0 = frozen)"
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="(default: %(default)s)")
    return parser


def _parse_function(spec: str) -> tuple[str, str, str]:
    target, sep, event = spec.partition("=")
    app_id, slash, fn_id = target.partition("/")
    if not sep or not slash or not app_id or not fn_id or not event:
        raise ConfigError(f"--function {spec!r}: expected APP/FN=EVENT_PATTERN")
    return app_id.strip(), fn_id.strip(), event.strip()


def load_config(args: argparse.Namespace) -> DevConfig:
    config = DevConfig.from_file(args.config) if args.config else DevConfig.demo()
    config.event_keys.extend(args.event_key)
    config.signing_keys.extend(args.signing_key)
    for spec in args.function:
        config.add_quick_function(*_parse_function(spec))
    if args.time_scale is not None:
        if args.time_scale < 0:
            raise ConfigError("--time-scale must be >= 0")
        config.time_scale = args.time_scale
    return config


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.log_level == "trace" else getattr(logging, args.log_level.upper())
    logging.basicConfig(level=level, format="%(levelname)s:  %(message)s")
    try:
        config = load_config(args)
    except ConfigError as exc:
        print(f"naftiko-inngest-dev: {exc}", file=sys.stderr)
        return 2

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # lets asyncio set TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        print(
            f"naftiko-inngest-dev: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr
        )
        return 1
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    apps = ", ".join(a.id for a in config.apps) or "none"
    event_keys = f"{len(config.event_keys)} configured" if config.event_keys else "any (dev mode)"
    signing = f"{len(config.signing_keys)} configured" if config.signing_keys else "none (no auth)"
    print(
        f"Inngest dev stand-in listening on http://{host}:{port} "
        f"(apps: {apps}; event keys: {event_keys}; signing keys: {signing})",
        flush=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level=args.log_level, access_log=False, lifespan="on")
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
