"""Calling consumed HTTP operations with aiohttp.

One :class:`HttpConsumer` per ``consumes`` namespace owns one ``aiohttp.ClientSession`` (so one
connection pool per upstream). Each operation is compiled once into a :class:`BoundOperation`: its URL
template, the placement of every input parameter, its body builder and its authentication. A call then
only renders values and sends.
"""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .. import __version__
from ..binds import Bindings, Redactor
from ..errors import InvalidInputError, UpstreamTimeoutError, UpstreamUnavailableError
from ..expressions import MISSING, Template, compile_path, compile_template, to_text
from ..observability.context import note_upstream_status
from ..observability.hooks import observed_upstream
from ..spec import model as m

Scopes = Sequence[Mapping[str, Any]]

USER_AGENT = f"naftiko-runtime/{__version__}"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Upstream timeouts in seconds: to connect, and for the whole exchange (``total``)."""

    connect: float = 5.0
    total: float = 30.0


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    reason: str
    content_type: str
    body: bytes

    def text_excerpt(self, redact: Callable[[str], str], limit: int = 300) -> str:
        text = self.body[: limit * 4].decode("utf-8", "replace").strip()
        text = redact(" ".join(text.split()))
        return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    in_: str
    template: Template | None
    fixed: str | None  # environment values, read once at load
    required: bool

    def resolve(self, args: Mapping[str, Any], scopes: Scopes) -> Any:
        if self.fixed is not None:
            return self.fixed
        if self.template is not None:
            if self.template.is_constant:
                return self.template.parts[0]
            return self.template.value(scopes, what=f"{self.in_} parameter '{self.name}'")
        value = args.get(self.name, MISSING)
        return None if value is MISSING else value


class _Auth:
    """Outbound credentials, rendered once at load when they only use binds."""

    def __init__(self, auth: m.Authentication | None, bind_scopes: Scopes) -> None:
        self.kind = auth.type if auth is not None else None
        self._templates: dict[str, Template] = {}
        self._static: dict[str, str] = {}
        self.placement = getattr(auth, "placement", "header")
        if auth is None or isinstance(auth, m.AuthOAuth2):
            self.kind = None
            return
        for field in ("token", "username", "password", "key", "value"):
            text = getattr(auth, field, None)
            if isinstance(text, str):
                template = compile_template(text)
                self._templates[field] = template
                try:
                    self._static[field] = template.render(bind_scopes)
                except Exception:  # noqa: BLE001 - depends on call arguments; rendered per call instead
                    pass

    def _get(self, field: str, scopes: Scopes) -> str:
        if field in self._static:
            return self._static[field]
        template = self._templates.get(field)
        return template.render(scopes, what=f"{self.kind} credential '{field}'") if template else ""

    def apply(
        self, headers: CIMultiDict[str], query: list[tuple[str, str]], scopes: Scopes
    ) -> aiohttp.DigestAuthMiddleware | None:
        kind = self.kind
        if kind is None:
            return None
        if kind == "bearer":
            headers["Authorization"] = "Bearer " + self._get("token", scopes)
        elif kind == "basic":
            raw = f"{self._get('username', scopes)}:{self._get('password', scopes)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        elif kind == "apikey":
            key, value = self._get("key", scopes), self._get("value", scopes)
            if self.placement == "query":
                query.append((key, value))
            else:
                headers[key] = value
        elif kind == "digest":
            return aiohttp.DigestAuthMiddleware(self._get("username", scopes), self._get("password", scopes))
        return None

    def secrets(self) -> list[str]:
        return [v for k, v in self._static.items() if k in ("token", "password", "value")]


_MEDIA = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "sparql": "application/sparql-query",
    "formUrlEncoded": "application/x-www-form-urlencoded",
}


class SendTarget(Protocol):
    """What :meth:`HttpConsumer.send` needs of an operation: its method, and its name for messages."""

    @property
    def method(self) -> str: ...

    @property
    def qualified(self) -> str: ...


class BoundOperation:
    """One consumed operation, compiled: ``await op.call(args, scopes)`` sends it and returns the response."""

    def __init__(
        self, consumer: HttpConsumer, resource: m.ConsumedHttpResource, op: m.ConsumedHttpOperation
    ) -> None:
        self.consumer = consumer
        self.resource = resource
        self.spec = op
        self.qualified = f"{consumer.namespace}.{op.name}"
        self.method = op.method
        raw_path, _, static_query = resource.path_template.partition("?")
        self.path = compile_path(raw_path)
        self.static_query = static_query
        merged: dict[tuple[str, str], m.ConsumedInputParameter] = {}
        for p in (*consumer.spec.input_parameters, *resource.input_parameters, *op.input_parameters):
            merged[(p.name, p.in_)] = p
        self.params = tuple(_compile_param(p) for p in merged.values())
        self.path_overrides = tuple(p for p in self.params if p.in_ == "path" and (p.template or p.fixed))
        self.body_params = tuple(p for p in self.params if p.in_ == "body")
        self.sent_params = tuple(p for p in self.params if p.in_ in ("query", "header", "cookie"))
        self.scope_params = tuple(p for p in self.params if p.in_ == "environment")
        self.body = op.body
        self._body_template = (
            compile_template(op.body.data) if op.body and isinstance(op.body.data, str) else None
        )

    async def call(self, args: Mapping[str, Any], scopes: Scopes) -> UpstreamResponse:
        consumer = self.consumer
        if self.scope_params:
            args = {**args, **{p.name: p.fixed for p in self.scope_params if p.fixed is not None}}
        full_scopes: Scopes = (*scopes, args)
        path_values: Mapping[str, Any] = args
        if self.path_overrides:
            path_values = {**args, **{p.name: p.resolve(args, full_scopes) for p in self.path_overrides}}
        path = self.path.expand(path_values)
        headers: CIMultiDict[str] = CIMultiDict(consumer.default_headers)
        query: list[tuple[str, str]] = []
        cookies: list[str] = []
        for p in self.sent_params:
            value = p.resolve(args, full_scopes)
            if value is None or value == "":
                if p.required:
                    raise InvalidInputError(
                        f"{self.qualified} needs {p.in_} parameter '{p.name}'",
                        parameter=p.name,
                        location=p.in_,
                    )
                continue
            if p.in_ == "query":
                if isinstance(value, list):
                    query.extend((p.name, to_text(v)) for v in value)
                else:
                    query.append((p.name, to_text(value)))
            elif p.in_ == "header":
                headers[p.name] = to_text(value)
            else:
                cookies.append(f"{p.name}={quote(to_text(value), safe='')}")
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        data, content_type = self._build_body(args, full_scopes)
        if content_type is not None and "Content-Type" not in headers:
            headers["Content-Type"] = content_type
        middleware = consumer.auth.apply(headers, query, full_scopes)
        url = consumer.base + path
        qs = self.static_query
        if query:
            qs = (qs + "&" if qs else "") + urlencode(query, quote_via=quote)
        if qs:
            url = f"{url}?{qs}"
        return await consumer.send(self, url, headers, data, middleware)

    def _build_body(self, args: Mapping[str, Any], scopes: Scopes) -> tuple[Any, str | None]:
        body = self.body
        if body is None:
            if not self.body_params:
                return None, None
            values = {}
            for p in self.body_params:
                value = p.resolve(args, scopes)
                if value is None:
                    if p.required:
                        raise InvalidInputError(
                            f"{self.qualified} needs a request body ('{p.name}')",
                            parameter=p.name,
                            location="body",
                        )
                    continue
                values[p.name] = value
            if not values:
                return None, None
            payload = next(iter(values.values())) if len(self.body_params) == 1 else values
            return _json_bytes(payload), "application/json"
        what = f"{self.qualified} body"
        if self._body_template is not None:
            text = self._body_template.render(scopes, what=what)
            if body.kind in ("raw", "json"):
                media = (
                    "application/json"
                    if body.kind == "json" or text.lstrip()[:1] in ("{", "[")
                    else ("text/plain; charset=utf-8")
                )
            else:
                media = _MEDIA.get(body.kind, "text/plain; charset=utf-8")
            return text.encode("utf-8"), media
        if body.kind == "formUrlEncoded" and isinstance(body.data, Mapping):
            pairs = [(k, to_text(_render_data(v, scopes, what))) for k, v in body.data.items()]
            return urlencode(pairs).encode("ascii"), _MEDIA["formUrlEncoded"]
        if body.kind == "multipartForm" and isinstance(body.data, list):
            form = aiohttp.FormData()
            for part in body.data:
                value = _render_data(part.get("value", ""), scopes, what)
                form.add_field(
                    str(part.get("name")),
                    to_text(value),
                    filename=part.get("filename"),
                    content_type=part.get("contentType"),
                )
            return form, None
        return _json_bytes(_render_data(body.data, scopes, what)), _MEDIA.get(body.kind, "application/json")


def _render_data(data: Any, scopes: Scopes, what: str) -> Any:
    """Render templates inside structured body data; a string that is exactly ``{{x}}`` keeps x's type."""
    if isinstance(data, str):
        if "{{" not in data:
            return data
        return compile_template(data).value(scopes, what=what)
    if isinstance(data, Mapping):
        return {k: _render_data(v, scopes, what) for k, v in data.items()}
    if isinstance(data, list):
        return [_render_data(v, scopes, what) for v in data]
    return data


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _compile_param(p: m.ConsumedInputParameter) -> _Param:
    fixed = None
    if p.in_ == "environment":
        fixed = os.environ.get(p.name) if p.value is None else None
    template = compile_template(p.value) if p.value is not None else None
    return _Param(p.name, p.in_, template, fixed, bool(p.required))


class HttpConsumer:
    """A consumed HTTP API: one connection pool, its credentials, and its compiled operations."""

    def __init__(
        self,
        spec: m.ConsumesHttp,
        bindings: Bindings,
        *,
        base_uri: str | None = None,
        timeouts: Timeouts | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.spec = spec
        self.namespace = spec.namespace
        self.base_uri = (base_uri or spec.base_uri).rstrip("/")
        self.base = self.base_uri
        parts = urlsplit(self.base_uri)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.timeouts = timeouts or Timeouts()
        self.redact = redactor or Redactor()
        self.auth = _Auth(spec.authentication, bindings.scopes)
        self.redact.update(self.auth.secrets())
        self.default_headers: dict[str, str] = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self.operations: dict[str, BoundOperation] = {}
        for resource in spec.resources:
            for op in resource.operations:
                if op.name not in self.operations:
                    bound = BoundOperation(self, resource, op)
                    if not bound.path.source.startswith("/"):
                        bound.path = compile_path("/" + bound.path.source)
                    self.operations[op.name] = bound
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=256, ttl_dns_cache=300, keepalive_timeout=30)
            timeout = aiohttp.ClientTimeout(total=self.timeouts.total, sock_connect=self.timeouts.connect)
            # no skip_auto_headers: aiohttp rebuilds header maps on every request when it is set (measured:
            # about 10% of a proxied call); the runtime's own User-Agent replaces aiohttp's instead
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @observed_upstream
    async def send(
        self,
        op: SendTarget,
        url: str,
        headers: CIMultiDict[str],
        data: Any,
        middleware: aiohttp.DigestAuthMiddleware | None,
    ) -> UpstreamResponse:
        if self._session is None:
            await self.start()
        session = self._session
        assert session is not None
        kwargs: dict[str, Any] = {"headers": headers, "data": data, "allow_redirects": False}
        if middleware is not None:
            kwargs["middlewares"] = (middleware,)
        try:
            async with session.request(op.method, URL(url, encoded=True), **kwargs) as resp:
                body = await resp.read()
                note_upstream_status(resp.status)
                return UpstreamResponse(
                    resp.status, resp.reason or "", resp.headers.get("Content-Type", ""), body
                )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeoutError(
                f"{op.qualified}: {self.origin} did not answer within {self.timeouts.total:g} s",
                operation=op.qualified,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            reason = _reason(exc.os_error)
            raise UpstreamUnavailableError(
                f"{op.qualified}: cannot connect to {self.origin} ({reason})", operation=op.qualified
            ) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
            raise UpstreamUnavailableError(
                f"{op.qualified}: {self.origin} closed the connection before answering",
                operation=op.qualified,
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailableError(
                f"{op.qualified}: request to {self.origin} failed ({type(exc).__name__})",
                operation=op.qualified,
            ) from exc


def _reason(error: OSError | None) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "host name not resolved"
    if isinstance(error, TimeoutError):
        return "connect timeout"
    if error is not None and error.strerror:
        return error.strerror.lower()
    return "connection failed"
