"""What ``naftiko call`` talks to: a REST adapter, whose operations it reads from ``/openapi.json``, or an
MCP endpoint, whose tools it lists and calls over Streamable HTTP (``initialize``, then ``tools/list`` and
``tools/call``). Both are reached with one ``httpx`` client: over the network for a URL, or through an
ASGI transport for a capability loaded in this process (:mod:`.call_cli`).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import __version__
from .errors import UsageError

#: the MCP revision asked for in ``initialize`` (servers answer the one they speak)
MCP_REVISION = "2025-11-25"
INVALID_PARAMS = -32602


class Unreachable(Exception):
    """The target could not be reached (``connect``) or did not answer in a form this command reads."""

    def __init__(self, message: str, *, connect: bool = False) -> None:
        super().__init__(message)
        self.connect = connect


def _failed(where: str, exc: httpx.HTTPError) -> Unreachable:
    if isinstance(exc, httpx.ConnectError):
        return Unreachable(f"cannot reach {where}: {exc}", connect=True)
    return Unreachable(f"{where}: {exc or type(exc).__name__}")


@dataclass(frozen=True)
class Arg:
    """One ``name=value`` (``strict``: ``name:=json``) from the command line."""

    name: str
    text: str
    strict: bool = False

    def value(self, schema: Mapping[str, Any] | None) -> Any:
        """JSON when it parses (always for ``:=``), else the text; the text as is for a declared string."""
        if self.strict:
            try:
                return json.loads(self.text)
            except ValueError as exc:
                raise UsageError(f"{self.name}:={self.text}: not JSON ({exc})") from None
        if schema is not None and schema.get("type") == "string":
            return self.text
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text


@dataclass(frozen=True)
class Entry:
    """An operation or tool: its name, a one-line summary, its arguments (name → JSON Schema), which of
    them are required, and for REST where each goes (``in``)."""

    name: str
    summary: str
    params: Mapping[str, Mapping[str, Any]]
    required: Sequence[str] = ()
    where: Mapping[str, str] = field(default_factory=dict)
    method: str = ""
    path: str = ""
    body: Mapping[str, Any] | None = None  # REST: the request body's schema, when it takes one

    def brief(self) -> str:
        """The summary's first sentence, cut to fit a line."""
        first = self.summary.split(". ")[0].split("\n")[0].rstrip(".")
        return first if len(first) <= 80 else first[:79].rstrip() + "…"

    def usage(self) -> str:
        names = [f"{n}{'*' if n in self.required else ''}" for n in self.params]
        where = f"{self.method} {self.path}  " if self.method else ""
        return f"{self.name}  {where}{' '.join(names) or '(no arguments)'}"


@dataclass(frozen=True)
class Result:
    """A call's answer: ``payload`` (JSON value, text or None), and how it went: ``failed`` (exit 1) or
    ``refused`` (the target rejected the arguments: exit 2)."""

    payload: Any
    failed: bool = False
    refused: bool = False
    status: str = ""


class RestTarget:
    kind = "rest"

    def __init__(self, client: httpx.AsyncClient, base: str, label: str) -> None:
        self.client, self.base, self.label = client, base.rstrip("/"), label

    async def entries(self) -> dict[str, Entry]:
        try:
            response = await self.client.get(self.base + "/openapi.json")
            spec = response.json()
        except httpx.HTTPError as exc:
            raise _failed(f"{self.base}/openapi.json", exc) from None
        except ValueError:
            raise Unreachable(f"{self.base}/openapi.json is not JSON ({response.status_code})") from None
        if response.status_code != 200 or not isinstance(spec, dict) or "paths" not in spec:
            raise Unreachable(f"{self.base}/openapi.json is not an OpenAPI document ({response.status_code})")
        out: dict[str, Entry] = {}
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    out[op["operationId"]] = _rest_entry(path, method.upper(), op)
        return out

    async def call(self, entry: Entry, args: Sequence[Arg], body: Any, has_body: bool) -> Result:
        path, headers, fields = entry.path, {}, {}
        query: list[tuple[str, str | int | float | bool | None]] = []
        for arg in args:
            schema = entry.params.get(arg.name)
            where = entry.where.get(arg.name)
            if where in ("path", "query", "header", "cookie"):
                text = arg.text if not arg.strict else json.dumps(arg.value(None))
                if where == "path":
                    path = path.replace("{" + arg.name + "}", urllib.parse.quote(text, safe=""))
                elif where == "query":
                    value = arg.value(schema)
                    values = value if isinstance(value, list) else [text]
                    query += [(arg.name, v if isinstance(v, str) else json.dumps(v)) for v in values]
                elif where == "header":
                    headers[arg.name] = text
                else:
                    headers["cookie"] = "; ".join(filter(None, [headers.get("cookie"), f"{arg.name}={text}"]))
            elif entry.body is not None:
                fields[arg.name] = arg.value(schema)
            else:
                raise UsageError(f"{entry.name} has no argument '{arg.name}'; it takes: {_names(entry)}")
        if not has_body and fields:
            body, has_body = _body_from(entry, fields), True
        given = {a.name for a in args}
        missing = [
            n for n in entry.required if n not in given and not (has_body and entry.where.get(n) is None)
        ]
        if missing:
            raise UsageError(f"{entry.name} needs {', '.join(missing)}; it takes: {_names(entry)}")
        if has_body:
            headers["content-type"] = "application/json"
        try:
            response = await self.client.request(
                entry.method,
                self.base + path,
                params=query,
                headers=headers,
                content=json.dumps(body).encode() if has_body else None,
            )
        except httpx.HTTPError as exc:
            raise _failed(f"{entry.method} {self.base}{path}", exc) from None
        payload = _decoded(response)
        status = f"{response.status_code} {response.reason_phrase}"
        if response.is_success:
            return Result(payload, status=status)
        upstream = isinstance(payload, dict) and "upstreamStatus" in payload
        refused = response.status_code in (400, 422) and not upstream
        return Result(payload, failed=True, refused=refused, status=status)


def _rest_entry(path: str, method: str, op: Mapping[str, Any]) -> Entry:
    params: dict[str, Mapping[str, Any]] = {}
    where: dict[str, str] = {}
    required: list[str] = []
    for p in op.get("parameters") or ():
        params[p["name"]], where[p["name"]] = p.get("schema") or {}, p["in"]
        if p.get("required"):
            required.append(p["name"])
    body = None
    content = (op.get("requestBody") or {}).get("content") or {}
    if "application/json" in content:
        body = content["application/json"].get("schema") or {}
        for name, schema in (body.get("properties") or {}).items():
            params.setdefault(name, schema)
        required += [n for n in body.get("required") or () if n not in required]
    summary = op.get("summary") or op.get("description") or ""
    return Entry(op["operationId"], summary, params, required, where, method, path, body)


def _body_from(entry: Entry, fields: dict[str, Any]) -> Any:
    """Named fields make an object body; a body that is not an object (one array input, say) is the value
    of the one argument given for it."""
    schema = entry.body or {}
    if "properties" not in schema and schema.get("type") not in (None, "object") and len(fields) == 1:
        return next(iter(fields.values()))
    return fields


def _names(entry: Entry) -> str:
    return ", ".join(entry.params) or "no arguments"


def _decoded(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


class McpTarget:
    kind = "mcp"

    def __init__(self, client: httpx.AsyncClient, url: str, label: str) -> None:
        self.client, self.url, self.label = client, url, label
        self.headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        self._ids = 0
        self._ready = False

    async def _rpc(
        self, method: str, params: Mapping[str, Any] | None = None, *, notify: bool = False
    ) -> Any:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self._ids += 1
            message["id"] = self._ids
        try:
            response = await self.client.post(self.url, content=json.dumps(message), headers=self.headers)
        except httpx.HTTPError as exc:
            raise _failed(self.url, exc) from None
        if notify:
            return None
        answer = _jsonrpc_answer(response, message["id"])
        if answer is None:
            text = response.text[:200].strip()
            raise Unreachable(f"{self.url} answered {response.status_code} to {method}, not MCP: {text}")
        if response.headers.get("mcp-session-id"):
            self.headers["mcp-session-id"] = response.headers["mcp-session-id"]
        return answer

    async def start(self) -> None:
        if self._ready:
            return
        hello = {
            "protocolVersion": MCP_REVISION,
            "capabilities": {},
            "clientInfo": {"name": "naftiko-call", "version": __version__},
        }
        answer = await self._rpc("initialize", hello)
        if "error" in answer:
            raise Unreachable(f"{self.url} refused initialize: {answer['error'].get('message')}")
        self.headers["mcp-protocol-version"] = answer["result"].get("protocolVersion", MCP_REVISION)
        await self._rpc("notifications/initialized", notify=True)
        self._ready = True

    async def entries(self) -> dict[str, Entry]:
        await self.start()
        out: dict[str, Entry] = {}
        cursor: str | None = None
        while True:
            answer = await self._rpc("tools/list", {"cursor": cursor} if cursor else {})
            if "error" in answer:
                raise Unreachable(f"{self.url}: tools/list failed: {answer['error'].get('message')}")
            for tool in answer["result"].get("tools", []):
                schema = tool.get("inputSchema") or {}
                summary = (tool.get("description") or "").split("\n")[0]
                props = schema.get("properties") or {}
                out[tool["name"]] = Entry(tool["name"], summary, props, schema.get("required") or ())
            cursor = answer["result"].get("nextCursor")
            if not cursor:
                return out

    async def call(self, entry: Entry, args: Sequence[Arg], body: Any, has_body: bool) -> Result:
        arguments = dict(body) if has_body and isinstance(body, dict) else {}
        if has_body and not isinstance(body, dict):
            raise UsageError("--json must be a JSON object for an MCP tool (its arguments)")
        for arg in args:
            arguments[arg.name] = arg.value(entry.params.get(arg.name))
        _check_arguments(entry, arguments)
        answer = await self._rpc("tools/call", {"name": entry.name, "arguments": arguments})
        if "error" in answer:
            error = answer["error"]
            return Result(error, failed=True, refused=error.get("code") == INVALID_PARAMS, status="error")
        result = answer["result"]
        return Result(tool_payload(result), failed=bool(result.get("isError")), status="tool result")


def _check_arguments(entry: Entry, arguments: Mapping[str, Any]) -> None:
    """Arguments that do not fit the tool's input schema are a usage error, said before calling."""
    import jsonschema

    schema = {"type": "object", "properties": dict(entry.params), "required": list(entry.required)}
    problems = [
        f"{'.'.join(map(str, e.absolute_path)) or 'arguments'}: {e.message}"
        for e in jsonschema.Draft202012Validator(schema).iter_errors(arguments)
    ]
    if problems:
        raise UsageError(f"{entry.name}: {'; '.join(problems)}; it takes: {_names(entry)}")


def tool_payload(result: Mapping[str, Any]) -> Any:
    """What a tool answered: its structured content, else its one text read as JSON when it is, else the
    texts, else the content items as they are (images, resources)."""
    if result.get("structuredContent") is not None:
        return result["structuredContent"]
    content = result.get("content") or []
    texts = [c.get("text", "") for c in content if c.get("type") == "text"]
    if len(texts) == len(content) == 1:
        try:
            return json.loads(texts[0])
        except ValueError:
            return texts[0]
    if len(texts) == len(content):
        return "\n".join(texts)
    return content


def _jsonrpc_answer(response: httpx.Response, ident: int) -> dict[str, Any] | None:
    """The JSON-RPC response with id ``ident``: the body, or an SSE event's data."""
    kind = response.headers.get("content-type", "")
    candidates: list[str] = []
    if kind.startswith("text/event-stream"):
        for event in response.text.replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(ln[5:].lstrip() for ln in event.split("\n") if ln.startswith("data:"))
            if data:
                candidates.append(data)
    else:
        candidates.append(response.text)
    for text in candidates:
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("id") == ident:
            return message
    return None


async def probe(client: httpx.AsyncClient, url: str) -> RestTarget | McpTarget:
    """A URL's kind: ``/openapi.json`` beside it makes a REST adapter, an answer to ``initialize`` an MCP
    endpoint (a URL ending in ``/mcp`` is tried as MCP first)."""
    rest, mcp = RestTarget(client, url, url), McpTarget(client, url, url)
    order: list[RestTarget | McpTarget] = [mcp, rest] if url.rstrip("/").endswith("/mcp") else [rest, mcp]
    reasons = []
    for target in order:
        try:
            if isinstance(target, McpTarget):
                await target.start()
            else:
                await target.entries()
            return target
        except Unreachable as exc:
            if exc.connect:
                raise
            reasons.append(str(exc))
    raise Unreachable(f"{url} is neither a REST adapter nor an MCP endpoint ({'; '.join(reasons)})")


__all__ = ["Arg", "Entry", "McpTarget", "RestTarget", "Result", "Unreachable", "probe", "tool_payload"]
