"""``naftiko health|status|metrics|traces``: read a running control adapter.

The adapter is found at ``--url``, else ``NAFTIKO_CONTROL_URL``, else ``http://127.0.0.1:9090``. A control
adapter behind bearer authentication takes ``--token`` (or ``NAFTIKO_CONTROL_TOKEN``). Exit codes: 0 the
answer is good (for ``health``: ready), 1 it is not or the adapter cannot be reached, 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_URL = "http://127.0.0.1:9090"
COMMANDS = ("health", "status", "metrics", "traces")


def add_control_commands(sub: Any) -> None:
    helps = {
        "health": "is a running server live and ready? (exit 0 when ready)",
        "status": "what a running server serves: capabilities, adapters, uptime, last reload",
        "metrics": "a running server's metrics (Prometheus text)",
        "traces": "a running server's recent traces, or one trace's spans",
    }
    for name in COMMANDS:
        parser = sub.add_parser(name, help=helps[name])
        parser.add_argument("--url", default=None, help=f"the control adapter (default {DEFAULT_URL})")
        parser.add_argument("--token", default=None, help="a bearer token for a protected control adapter")
        if name == "metrics":
            parser.add_argument(
                "--filter", default=None, metavar="REGEX", help="only metrics whose name matches"
            )
        if name == "traces":
            parser.add_argument("trace_id", nargs="?", metavar="TRACE_ID", help="show this trace's spans")
            parser.add_argument("--operation", default=None, help="only traces whose operation contains this")
            parser.add_argument("--status", default=None, choices=("ok", "error", "unset"))


class _Unreachable(Exception):
    pass


def _get(base: str, path: str, token: str | None) -> tuple[int, bytes]:
    request = urllib.request.Request(base.rstrip("/") + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Unreachable(f"cannot reach the control adapter at {base}: {reason}") from None


def _detail(status: int, body: bytes) -> str:
    try:
        problem = json.loads(body)
        return f"{status} {problem.get('title', '')}: {problem.get('detail', '')}"
    except ValueError:
        return f"{status}"


def control_command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    base = args.url or environ.get("NAFTIKO_CONTROL_URL") or DEFAULT_URL
    token = args.token or environ.get("NAFTIKO_CONTROL_TOKEN")
    if not base.startswith(("http://", "https://")):
        print(f"naftiko {args.command}: --url must start with http:// or https://", file=sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](args, base, token)
    except _Unreachable as exc:
        print(f"naftiko {args.command}: {exc}", file=sys.stderr)
        return 1


def _health(args: argparse.Namespace, base: str, token: str | None) -> int:
    live, _ = _get(base, "/health/live", token)
    status, body = _get(base, "/health/ready", token)
    print(f"live: {'UP' if live == 200 else f'DOWN ({live})'}")
    try:
        ready = json.loads(body)
    except ValueError:
        ready = {}
    print(f"ready: {ready.get('status', status)}")
    for adapter in ready.get("adapters", []):
        print(f"  {adapter['type']:<8}{adapter['namespace']:<24}{adapter['state']:<9}{adapter['url']}")
    return 0 if live == 200 and status == 200 else 1


def _json_command(path: str) -> Callable[[argparse.Namespace, str, str | None], int]:
    def run(args: argparse.Namespace, base: str, token: str | None) -> int:
        query: dict[str, str] = {}
        target = path
        if args.command == "traces":
            if args.trace_id:
                target += "/" + urllib.parse.quote(args.trace_id, safe="")
            query = {k: v for k, v in (("operation", args.operation), ("status", args.status)) if v}
        status, body = _get(base, target + ("?" + urllib.parse.urlencode(query) if query else ""), token)
        if status != 200:
            print(f"naftiko {args.command}: {_detail(status, body)}", file=sys.stderr)
            return 1
        print(json.dumps(json.loads(body), indent=2))
        return 0

    return run


def _metrics(args: argparse.Namespace, base: str, token: str | None) -> int:
    status, body = _get(base, "/metrics", token)
    if status != 200:
        print(f"naftiko metrics: {_detail(status, body)}", file=sys.stderr)
        return 1
    text = body.decode("utf-8")
    if args.filter:
        try:
            wanted = re.compile(args.filter)
        except re.error as exc:
            print(f"naftiko metrics: --filter is not a regular expression: {exc}", file=sys.stderr)
            return 2
        text = "\n".join(line for line in text.splitlines() if wanted.search(_metric_name(line)))
    print(text.rstrip("\n"))
    return 0


def _metric_name(line: str) -> str:
    """``# HELP name ...``, ``# TYPE name kind`` and ``name{labels} value`` lines all name their metric."""
    if line.startswith("#"):
        parts = line.split(" ", 3)
        return parts[2] if len(parts) > 2 else ""
    return re.split(r"[{ ]", line, maxsplit=1)[0]


_COMMANDS = {
    "health": _health,
    "status": _json_command("/status"),
    "metrics": _metrics,
    "traces": _json_command("/traces"),
}

__all__ = ["COMMANDS", "DEFAULT_URL", "add_control_commands", "control_command"]
