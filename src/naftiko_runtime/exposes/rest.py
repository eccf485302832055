"""The REST exposer: one Starlette app per ``exposes: rest`` adapter.

Everything is compiled in :func:`build_rest_app`: the route table, one :class:`~..engine.Invocation` per
operation, the input readers, patterns and body JSONPaths, and the OpenAPI document. A request then costs
a path split, dict lookups, input extraction and the call.

Routing matches the *raw* (still percent-encoded) path one segment at a time and decodes each segment on
its own, so ``a%2Fb`` or ``..%2F..%2Fadmin`` is one path value, never two segments or a climb. Placeholder
names are kept per operation (hyphens are fine), so two resources with the same shape share one route.

Inputs are the declared ``inputParameters`` (resource level, then operation level), read by ``in``,
coerced to their ``type`` and checked for ``pattern`` and required-ness. An operation that declares none
receives its path variables, the query parameters and the JSON body (as ``body``). Every error answers
``application/problem+json``; an upstream 4xx passes through with the upstream's own JSON body. Every
body this module renders goes through ``runtime.redact``, so not even an upstream that echoes our
credentials can make a bound secret leave the process.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Message, Receive, Scope, Send

from ..binds import Redactor
from ..consumes.http import HttpConsumer
from ..engine import Invocation, Outcome, Runtime
from ..errors import InvalidInputError, RequestError, UpstreamStatusError
from ..expressions import (
    MISSING,
    JsonPath,
    Template,
    compile_jsonpath,
    compile_path,
    compile_template,
    to_text,
)
from ..spec import model as m
from .openapi import build_openapi

log = logging.getLogger("naftiko.rest")

#: Request bodies larger than this are refused with 413.
MAX_BODY_BYTES = 1 << 20
PROBLEM_JSON = "application/problem+json"


# --- responses -----------------------------------------------------------------------------------------


class JsonResponse(Response):
    """Compact JSON, scrubbed of bound secrets: an upstream that echoes our credentials must not leak them."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._redact = redact
        super().__init__(content, status_code, headers)

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
        return (self._redact(text) if self._redact is not None else text).encode("utf-8")


class ProblemResponse(JsonResponse):
    media_type = PROBLEM_JSON


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    redact: Callable[[str], str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """An RFC 9457 problem document."""
    body = {"type": kind, "title": title, "status": status, "detail": detail}
    body.update((k, v) for k, v in extensions.items() if v is not None)
    return ProblemResponse(body, status_code=status, headers=headers, redact=redact)


def _problem_type(exc: RequestError) -> str:
    name = type(exc).__name__.removesuffix("Error")
    return "urn:naftiko:problem:" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def error_response(exc: RequestError, redact: Callable[[str], str]) -> Response:
    """The response for a failed call: an upstream 4xx with a JSON body passes through as is."""
    if isinstance(exc, UpstreamStatusError) and 400 <= exc.upstream_status < 500 and exc.body is not None:
        return JsonResponse(exc.body, status_code=exc.upstream_status, redact=redact)
    return problem(
        exc.http_status, exc.title, exc.detail, kind=_problem_type(exc), redact=redact, **exc.extensions
    )


def outcome_response(outcome: Outcome, redact: Callable[[str], str]) -> Response:
    if outcome.empty:
        return Response(status_code=outcome.status)
    if outcome.raw is not None:
        raw = outcome.raw
        if isinstance(redact, Redactor):
            raw = redact.bytes(raw)
        else:
            try:
                raw = redact(raw.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                pass
        return Response(
            raw,
            status_code=outcome.status,
            headers={"content-type": outcome.content_type or "application/octet-stream"},
        )
    return JsonResponse(outcome.data, status_code=outcome.status, redact=redact)


class _TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused (``_TooLarge``) as soon as it is known to exceed ``limit``."""
    length: bytes | None = None
    for key, value in request.scope["headers"]:
        if key == b"content-length":
            length = value
        elif key == b"transfer-encoding":
            length = b"chunked"
    if length is None or length == b"0":
        return b""  # most GETs: no need to go through receive()
    if length.isdigit() and int(length) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return MISSING
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInputError("the request body is not valid JSON", location="body") from None


# --- inputs --------------------------------------------------------------------------------------------


class _Bad(Exception):
    """A value that cannot be read as the declared type; ``args[0]`` says what was expected."""


_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _as_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return to_text(value)
    raise _Bad("a string")


def _as_integer(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise _Bad("an integer")


def _as_number(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(text := value.strip()):
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    raise _Bad("a number")


def _as_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise _Bad("a boolean (true or false)")


def _as_json(kind: type, expected: str) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                value = json.loads(value)
            except ValueError:
                raise _Bad(expected) from None
        if isinstance(value, kind):
            return value
        if kind is list and isinstance(value, str):
            return [part.strip() for part in value.split(",")] if value.strip() else []
        raise _Bad(expected)

    return coerce


_COERCE: dict[str, Callable[[Any], Any]] = {
    "string": _as_string,
    "integer": _as_integer,
    "number": _as_number,
    "boolean": _as_boolean,
    "array": _as_json(list, "an array"),
    "object": _as_json(dict, "a JSON object"),
}


@dataclass(frozen=True, slots=True)
class _Input:
    name: str
    in_: str
    coerce: Callable[[Any], Any]
    required: bool
    pattern: re.Pattern[str] | None
    many: bool = False  # an array read from repeated query parameters or a comma-separated header
    jsonpath: JsonPath | None = None  # body: where the value is
    sole_body: bool = False  # body: the only body input takes the whole body when it has no field of its name
    static: Any = MISSING  # a `value` that is not a JSONPath overrides the request
    static_template: Template | None = None


class _Call:
    """What one request offers to the input readers."""

    __slots__ = ("request", "path", "body")

    def __init__(self, request: Request, path: dict[str, str], body: Any) -> None:
        self.request = request
        self.path = path
        self.body = body


def _read_path(call: _Call, p: _Input) -> Any:
    return call.path.get(p.name, MISSING)


def _read_query(call: _Call, p: _Input) -> Any:
    values = call.request.query_params.getlist(p.name)
    if not values:
        return MISSING
    return values if p.many and len(values) > 1 else values[0]


def _read_header(call: _Call, p: _Input) -> Any:
    value = call.request.headers.get(p.name)
    return MISSING if value is None else value


def _read_cookie(call: _Call, p: _Input) -> Any:
    return call.request.cookies.get(p.name, MISSING)


def _read_body(call: _Call, p: _Input) -> Any:
    body = call.body
    if body is MISSING:
        return MISSING
    if p.jsonpath is not None:
        return p.jsonpath.find(body)
    if isinstance(body, dict) and p.name in body:
        return body[p.name]
    return body if p.sole_body else MISSING


_READERS: dict[str, Callable[[_Call, _Input], Any]] = {
    "path": _read_path,
    "query": _read_query,
    "header": _read_header,
    "cookie": _read_cookie,
    "body": _read_body,
}


def _pattern(p: m.ExposedInputParameter) -> re.Pattern[str] | None:
    if not p.pattern:
        return None
    try:
        return re.compile(p.pattern)
    except re.error as exc:
        log.warning(
            "%s parameter '%s': pattern %r does not compile here (%s); not checked",
            p.in_,
            p.name,
            p.pattern,
            exc,
        )
        return None


def _compile_input(p: m.ExposedInputParameter, sole_body: bool, environ: Mapping[str, str]) -> _Input:
    static: Any = MISSING
    static_template = None
    jsonpath = None
    if p.in_ == "environment":
        static = environ.get(p.name, MISSING)
    elif p.value is not None and p.in_ == "body" and p.value.startswith("$"):
        jsonpath = compile_jsonpath(p.value)
    elif p.value is not None and not p.value.startswith("$"):
        template = compile_template(p.value)
        if template.is_constant:
            static = template.parts[0]
        else:
            static_template = template
    return _Input(
        name=p.name,
        in_=p.in_,
        coerce=_COERCE.get(p.type, _as_string),
        required=p.in_ == "path" or p.required is True,
        pattern=_pattern(p),
        many=p.type == "array",
        jsonpath=jsonpath,
        sole_body=sole_body,
        static=static,
        static_template=static_template,
    )


# --- operations ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Endpoint:
    label: str
    invocation: Invocation
    redact: Callable[[str], str]
    bind_scopes: Sequence[Mapping[str, Any]]
    path_names: tuple[str, ...]
    inputs: tuple[_Input, ...] | None  # None: implicit inputs (path variables, query, body)
    reads_body: bool

    async def respond(self, request: Request, path_values: Sequence[str]) -> Response:
        try:
            body = _parse_json(await read_body(request)) if self.reads_body else MISSING
            path = dict(zip(self.path_names, path_values, strict=True))
            inputs = (
                self._implicit(request, path, body)
                if self.inputs is None
                else self._declared(_Call(request, path, body))
            )
            outcome = await self.invocation.run(inputs)
        except RequestError as exc:
            return error_response(exc, self.redact)
        except _TooLarge:
            return problem(413, "Content too large", f"the request body exceeds {MAX_BODY_BYTES} bytes")
        except Exception:
            log.exception("%s failed", self.label)
            return problem(
                500,
                "Internal server error",
                f"{self.label} failed unexpectedly; the server log has the details",
            )
        return outcome_response(outcome, self.redact)

    @staticmethod
    def _implicit(request: Request, path: dict[str, str], body: Any) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            seen = inputs.get(key)
            if seen is None:
                inputs[key] = value
            elif isinstance(seen, list):
                seen.append(value)
            else:
                inputs[key] = [seen, value]
        if body is not MISSING:
            inputs["body"] = body
        inputs.update(path)
        return inputs

    def _declared(self, call: _Call) -> dict[str, Any]:
        inputs: dict[str, Any] = dict(call.path)  # undeclared path variables are inputs too
        assert self.inputs is not None
        for p in self.inputs:
            if p.static is not MISSING:
                value = p.static
            elif p.static_template is not None:
                what = f"{p.in_} parameter '{p.name}'"
                value = p.static_template.value((*self.bind_scopes, inputs), what=what)
            else:
                value = _READERS[p.in_](call, p)
            if value is MISSING or value is None or value == "":
                if p.required:
                    raise InvalidInputError(
                        f"{p.in_} parameter '{p.name}' is required", parameter=p.name, location=p.in_
                    )
                inputs.pop(p.name, None)
                continue
            if p.pattern is not None and isinstance(value, (str, int, float)):
                if not p.pattern.search(to_text(value)):
                    raise InvalidInputError(
                        f"{p.in_} parameter '{p.name}' does not match the pattern {p.pattern.pattern}",
                        parameter=p.name,
                        location=p.in_,
                    )
            try:
                inputs[p.name] = p.coerce(value)
            except _Bad as bad:
                raise InvalidInputError(
                    f"{p.in_} parameter '{p.name}' must be {bad.args[0]}", parameter=p.name, location=p.in_
                ) from None
        return inputs


def _endpoint(
    adapter: m.ExposesRest,
    runtime: Runtime,
    resource: m.ExposedResource,
    op: m.ExposedOperation,
    path_names: tuple[str, ...],
) -> _Endpoint:
    label = f"{op.method} {resource.path_template}"
    declared = m.effective_inputs(resource.input_parameters, op.input_parameters)
    body_count = sum(1 for p in declared if p.in_ == "body")
    environ = runtime.bindings.environ
    inputs = tuple(_compile_input(p, body_count == 1, environ) for p in declared) if declared else None
    reads_body = inputs is None or body_count > 0
    invocation = runtime.invocation(op.name or label, op.invocable)
    return _Endpoint(label, invocation, runtime.redact, runtime.bind_scopes, path_names, inputs, reads_body)


# --- forward (proxy) resources -------------------------------------------------------------------------


class _Forward:
    """Proxies a request to a consumed namespace: trusted headers only, that consumer's credentials."""

    def __init__(self, runtime: Runtime, config: m.ForwardConfig) -> None:
        self.runtime = runtime
        self.consumer: HttpConsumer = runtime.consumers[config.target_namespace]
        self.trusted = frozenset(h.lower() for h in config.trusted_headers)

    async def respond(self, request: Request, tail: str | None) -> Response:
        try:
            return await self._proxy(request, tail)
        except RequestError as exc:
            return error_response(exc, self.runtime.redact)
        except _TooLarge:
            return problem(413, "Content too large", f"the request body exceeds {MAX_BODY_BYTES} bytes")
        except Exception:
            log.exception("forward to %s failed", self.consumer.namespace)
            return problem(500, "Internal server error", "the forward failed; the server log has the details")

    async def _proxy(self, request: Request, tail: str | None) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() in self.trusted]
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = await read_body(request)
        response = await self.consumer.forward(request.method, tail, headers, body, query=query)
        outcome = Outcome(response.status, raw=response.body, content_type=response.content_type or None)
        return outcome_response(outcome, self.runtime.redact)


# --- routing -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    """Every operation (and the forward) of one path shape."""

    template: str
    segments: tuple[str | re.Pattern[str], ...]  # a literal (decoded) or a pattern capturing the variables
    greedy: bool  # a forward resource's trailing {path}: the rest of the path, still encoded
    endpoints: dict[str, _Endpoint] = field(default_factory=dict)
    forward: _Forward | None = None

    def match(self, decoded: Sequence[str], raw: Sequence[str]) -> list[str] | None:
        n = len(self.segments)
        if len(decoded) != n and not (self.greedy and len(decoded) > n):
            return None
        values: list[str] = []
        for segment, text in zip(self.segments, decoded, strict=False):
            if isinstance(segment, str):
                if segment != text:
                    return None
            else:
                found = segment.fullmatch(text)
                if found is None:
                    return None
                values.extend(found.groups())
        if self.greedy:
            values.append("/".join(raw[n:]))
        return values


def _split(path: str) -> list[str]:
    path = path[1:] if path.startswith("/") else path
    path = path[:-1] if path.endswith("/") else path
    return path.split("/") if path else []


_Segments = tuple[str | re.Pattern[str], ...]


def _compile_route(template: str, greedy_tail: bool) -> tuple[_Segments, tuple[str, ...], bool]:
    """Segments, placeholder names in order, and whether a trailing ``{path}`` takes the rest of the path."""
    segments: list[str | re.Pattern[str]] = []
    names: list[str] = []
    parts = _split(template.split("?", 1)[0])
    greedy = False
    if greedy_tail and parts and compile_path(parts[-1]).parts == ("", "path", ""):
        parts, greedy = parts[:-1], True
    for part in parts:
        compiled = compile_path(part)
        if len(compiled.parts) == 1:
            segments.append(part)
            continue
        regex = "".join(re.escape(text) if i % 2 == 0 else "(.+?)" for i, text in enumerate(compiled.parts))
        segments.append(re.compile(regex, re.DOTALL))
        names.extend(compiled.names)
    if greedy:
        names.append("path")
    return tuple(segments), tuple(names), greedy


class _Routes(BaseRoute):
    """All resources of one adapter, matched on the raw path (see the module docstring)."""

    def __init__(self, groups: Sequence[_Group]) -> None:
        self.static: dict[tuple[str, ...], list[_Group]] = {}
        self.dynamic: dict[int, list[_Group]] = {}
        self.greedy: list[_Group] = []
        for group in groups:
            if group.greedy:
                self.greedy.append(group)
            elif all(isinstance(s, str) for s in group.segments):
                self.static.setdefault(cast(tuple[str, ...], group.segments), []).append(group)
            else:
                self.dynamic.setdefault(len(group.segments), []).append(group)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        raw_path = scope.get("raw_path")
        raw = _split(raw_path.decode("latin-1") if raw_path else scope["path"])
        decoded = [unquote(s) for s in raw] if raw_path else raw
        method = scope["method"]
        allowed: list[str] = []
        candidates = (*self.static.get(tuple(decoded), ()), *self.dynamic.get(len(decoded), ()), *self.greedy)
        for group in candidates:
            values = group.match(decoded, raw)
            if values is None:
                continue
            if method in group.endpoints or group.forward is not None:
                return Match.FULL, {"naftiko.route": (group, values)}
            allowed.extend(k for k in group.endpoints if k not in allowed)
        if allowed:
            return Match.FULL, {"naftiko.route": (None, allowed)}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        group, values = scope["naftiko.route"]
        request = Request(scope, receive)
        if group is None:
            allow = ", ".join(values)
            response: Response = problem(
                405,
                "Method not allowed",
                f"{scope['method']} is not allowed here (allowed: {allow})",
                headers={"Allow": allow},
            )
        else:
            endpoint = group.endpoints.get(scope["method"])
            if endpoint is not None:
                response = await endpoint.respond(request, values[: len(endpoint.path_names)])
            else:
                assert group.forward is not None
                response = await group.forward.respond(request, values[-1] if group.greedy else None)
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


# --- the app -------------------------------------------------------------------------------------------


def build_rest_app(adapter: m.ExposesRest, runtime: Runtime, *, host: str, port: int) -> RestApp:
    """The ASGI app serving ``adapter``: its resources, and its OpenAPI description at ``/openapi.json``."""
    groups: dict[tuple[str, bool], _Group] = {}
    for resource in adapter.resources:
        forward = resource.forward
        if forward is not None and forward.target_namespace not in runtime.consumers:
            forward = None
        segments, names, greedy = _compile_route(resource.path_template, greedy_tail=forward is not None)
        shape = "/".join(s if isinstance(s, str) else "{" + s.pattern + "}" for s in segments)
        group = groups.get((shape, greedy))
        if group is None:
            group = groups[(shape, greedy)] = _Group(resource.path_template, segments, greedy)
        for op in resource.operations:
            group.endpoints.setdefault(op.method, _endpoint(adapter, runtime, resource, op, names))
        if forward is not None and group.forward is None:
            group.forward = _Forward(runtime, forward)

    document = json.dumps(
        build_openapi(adapter, runtime.document, host=host, port=port),
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")

    return RestApp(_Routes(list(groups.values())), document)


class RestApp:
    """The adapter's ASGI app: the compiled routes, ``/openapi.json``, and a last-resort 500.

    A plain ASGI callable rather than a Starlette app: the routes already match on their own, so the
    middleware stack and router a Starlette app wraps around them would only add work to every request.
    """

    def __init__(self, routes: _Routes, openapi: bytes) -> None:
        self.routes = routes
        self.openapi = Response(openapi, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            match, child = self.routes.matches(scope)
            if match is Match.FULL:
                scope.update(child)
                await self.routes.handle(scope, receive, tracking_send)
                return
            if scope["path"] == "/openapi.json" and scope["method"] in ("GET", "HEAD"):
                response: Response = self.openapi
            elif scope["path"] == "/openapi.json":
                detail = f"{scope['method']} is not allowed here (allowed: GET)"
                response = problem(405, "Method not allowed", detail, headers={"Allow": "GET"})
            else:
                raw = scope.get("raw_path")
                shown = raw.decode("latin-1") if raw else scope["path"]
                response = problem(404, "Not found", f"no resource at {shown}")
            await response(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            if not started:
                failure = problem(500, "Internal server error", "the server log has the details")
                await failure(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


__all__ = ["MAX_BODY_BYTES", "JsonResponse", "ProblemResponse", "build_rest_app", "error_response", "problem"]
