"""``naftiko call TARGET [NAME] [name=value ...]``: call a REST operation or an MCP tool from the terminal.

TARGET is a running adapter's URL (a REST adapter's base URL, or an MCP endpoint; told apart by probing,
or by ``--kind``) or capability files and folders, loaded and called in this process with no socket (the
server's composition root builds the same apps ``serve`` serves). NAME is an operationId or a tool name;
without it the operations and tools are listed.

Arguments: ``name=value`` is read as JSON when it parses (``n=3``, ``tags='["a"]'``) and as text otherwise
or when the parameter is declared a string; ``name:=json`` must be JSON; ``--json '{...}'`` is the whole
body (REST) or the arguments object (MCP). Exit codes: 0 the call succeeded, 1 it failed (the upstream or
the tool failed, the target cannot be reached, the capability does not load), 2 usage errors (an unknown
operation, a missing or unknown argument, arguments the target refused).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import NaftikoError, SpecError, UsageError
from .terminal import PLAIN, Style

COMMANDS = ("call",)
_KINDS = ("rest", "mcp")


def add_call_command(sub: Any) -> None:
    call = sub.add_parser(
        "call",
        help="call a REST operation or MCP tool of a running adapter or a capability file",
        description="Call a REST operation (by operationId) or an MCP tool (by name) of a running adapter "
        "(URL) or of capability files loaded in this process (no server needed). Without NAME, list them. "
        "Exit 0 on success, 1 when the call fails, 2 on usage errors.",
    )
    call.add_argument("target", metavar="TARGET", help="an adapter URL, or capability files and folders")
    call.add_argument("name", nargs="?", metavar="NAME", help="the operationId or tool name (omit to list)")
    call.add_argument(
        "args", nargs="*", metavar="ARG", help="name=value (JSON when it parses, else text) or name:=json"
    )
    call.add_argument("--json", dest="body", metavar="JSON", help="the whole request body / tool arguments")
    call.add_argument("--kind", choices=_KINDS, help="what a URL is (default: probe it)")
    call.add_argument("--adapter", metavar="NAMESPACE", help="of a capability file: only this adapter")
    call.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="send this header"
    )
    call.add_argument("--token", help="send Authorization: Bearer TOKEN")
    call.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="default %(default)g")
    call.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAMESPACE=URL",
        help="of a capability file: send NAMESPACE's calls to URL; repeatable",
    )
    call.add_argument(
        "--env-file", action="append", default=[], metavar="FILE", help="of a capability file: binds' values"
    )


def parse_args(words: Sequence[str]) -> list[Any]:
    from .call_targets import Arg

    out = []
    for word in words:
        name, sep, text = word.partition("=")
        if not sep or not name.rstrip(":"):
            raise UsageError(f"arguments are name=value or name:=json, got {word!r}")
        out.append(Arg(name.rstrip(":"), text, strict=name.endswith(":")))
    return out


def call_command(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    upstreams: Mapping[str, str],
    *,
    out: Style = PLAIN,
    err: Style = PLAIN,
) -> int:
    """Run ``naftiko call``; ``environ`` resolves a capability file's binds; ``out``/``err`` colour
    stdout and stderr."""
    try:
        return asyncio.run(_call(args, environ, upstreams, out, err))
    except UsageError as exc:
        print(f"naftiko call: {exc}", file=sys.stderr)
        return 2
    except SpecError as exc:
        for finding in exc.findings:
            print(err.severity(finding.format(), finding.severity), file=sys.stderr)
        print(f"naftiko call: {args.target} has errors", file=sys.stderr)
        return 1
    except NaftikoError as exc:
        print(f"naftiko call: {exc}", file=sys.stderr)
        return 1 if exc.exit_code == 0 else exc.exit_code


async def _call(
    args: argparse.Namespace, environ: Mapping[str, str], upstreams: Mapping[str, str], out: Style, err: Style
) -> int:
    from .call_targets import Unreachable

    words = parse_args(args.args)
    body, has_body = None, args.body is not None
    if has_body:
        try:
            body = json.loads(args.body)
        except ValueError as exc:
            raise UsageError(f"--json is not JSON: {exc}") from None
    headers = _headers(args.header, args.token)
    try:
        async with _targets(args, environ, upstreams, headers) as targets:
            found = []
            for target in targets:
                entries = await target.entries()
                if args.name is None:
                    _list(target, entries, out)
                elif args.name in entries:
                    found.append((target, entries[args.name]))
            if args.name is None:
                return 0
            if not found:
                print(f"naftiko call: no operation or tool '{args.name}'. Available:", file=sys.stderr)
                for target in targets:
                    _list(target, await target.entries(), err, stream=sys.stderr)
                return 2
            target, entry = found[0]
            result = await target.call(entry, words, body, has_body)
    except Unreachable as exc:
        print(f"naftiko call: {exc}", file=sys.stderr)
        return 1
    if result.failed:
        print(err.error(f"naftiko call: {entry.name} failed ({result.status})"), file=sys.stderr)
        if result.payload is not None:
            print(_shown(result.payload, err), file=sys.stderr)
        return 2 if result.refused else 1
    if result.payload is not None:
        print(_shown(result.payload, out))
    return 0


def _shown(payload: Any, style: Style) -> str:
    return payload if isinstance(payload, str) else style.json(payload)


def _list(target: Any, entries: Mapping[str, Any], style: Style, *, stream: Any = None) -> None:
    stream = stream or sys.stdout
    kind = "operation" if target.kind == "rest" else "tool"
    count = f"{len(entries)} {kind}{'' if len(entries) == 1 else 's'}"
    print(style.bold(f"{target.kind} {target.label}: {count}"), file=stream)
    for entry in entries.values():
        line = f"  {entry.usage()}"
        print(line + (style.dim(f"  {entry.brief()}") if entry.summary else ""), file=stream)


def _headers(values: Sequence[str], token: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header expects 'NAME: VALUE', got {value!r}")
        headers[name.strip()] = text.strip()
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


@contextlib.asynccontextmanager
async def _targets(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    upstreams: Mapping[str, str],
    headers: dict[str, str],
) -> AsyncIterator[list[Any]]:
    import httpx

    from .call_targets import McpTarget, RestTarget, probe

    timeout = httpx.Timeout(args.timeout)
    if args.target.startswith(("http://", "https://")):
        if args.adapter or upstreams:
            raise UsageError("--adapter and --upstream are for capability files, not URLs")
        async with httpx.AsyncClient(headers=headers, timeout=timeout) as client:
            kinds = {"rest": RestTarget, "mcp": McpTarget}
            url = args.target.removesuffix("/openapi.json")
            yield [kinds[args.kind](client, url, url) if args.kind else await probe(client, url)]
        return
    if not Path(args.target).exists():
        raise UsageError(f"TARGET {args.target!r} is neither an http(s) URL nor a file or folder")
    async with _in_process(args, environ, upstreams, headers, timeout) as targets:
        yield targets


@contextlib.asynccontextmanager
async def _in_process(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    upstreams: Mapping[str, str],
    headers: dict[str, str],
    timeout: Any,
) -> AsyncIterator[list[Any]]:
    """Every REST and MCP adapter of the capability files, built as ``serve`` builds them and called
    through an ASGI transport: the runtime's pools open here, nothing listens."""
    import httpx

    from .call_targets import McpTarget, RestTarget
    from .exposes import ADAPTERS
    from .server.assemble import build_app, build_runtime, load_capability
    from .server.reload import Lifespan
    from .spec.discovery import discover

    capabilities = [load_capability(f, environ, upstreams) for f in discover([args.target])]
    consumed = {
        c.namespace
        for cap in capabilities
        if cap.document.capability
        for c in cap.document.capability.consumes
    }
    unknown = sorted(set(upstreams) - consumed)
    if unknown:
        raise UsageError(f"--upstream names no consumed namespace: {', '.join(unknown)}")
    async with contextlib.AsyncExitStack() as stack:
        targets: list[Any] = []
        for cap in capabilities:
            runtime = build_runtime(cap)
            await runtime.start()
            stack.push_async_callback(runtime.close)
            for adapter in cap.exposes:
                if adapter.type not in _KINDS or args.adapter not in (None, adapter.namespace):
                    continue
                if args.kind not in (None, adapter.type):
                    continue
                app = build_app(adapter, runtime, host="127.0.0.1", port=0)
                lifespan = Lifespan(app)
                await lifespan.start()
                stack.push_async_callback(lifespan.stop)
                client = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://127.0.0.1",
                    headers=headers,
                    timeout=timeout,
                )
                await stack.enter_async_context(client)
                url = "http://127.0.0.1" + ADAPTERS[adapter.type].path.rstrip("/")
                label = f"{adapter.namespace} ({cap.file})"
                targets.append((RestTarget if adapter.type == "rest" else McpTarget)(client, url, label))
        if not targets:
            which = f"adapter '{args.adapter}'" if args.adapter else "REST or MCP adapter"
            raise UsageError(f"{args.target} has no {which} to call")
        yield targets


__all__ = ["COMMANDS", "add_call_command", "call_command", "parse_args"]
