"""Calling consumed HTTP operations with aiohttp: the core.

One :class:`HttpConsumer` per ``consumes`` namespace owns one ``aiohttp.ClientSession`` (so one
connection pool per upstream). Each operation is compiled once into a :class:`BoundOperation`: its URL
template, its parameters (each placed by its ``in`` row, ``placement.py``), its body builder
(``body.py``) and the consumer's credentials (``auth.py``). A call then only renders values and sends.
:meth:`HttpConsumer.forward` is the public way to proxy a request to the consumed API as it is.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .. import __version__
from ..binds import Bindings, Redactor
from ..errors import (
    InvalidInputError,
    UnsupportedFeatureError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from ..expressions import MISSING, Template, compile_path, compile_template
from ..observability.context import note_upstream_status
from ..observability.hooks import observed_upstream
from ..spec import model as m
from .auth import compile_auth
from .body import BODY, params_body
from .oauth2 import OAuthError
from .placement import PLACEMENT, Outgoing, Place, Scopes

T = TypeVar("T")

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
    """One consumed input parameter, compiled: where its value comes from and the row that places it."""

    name: str
    in_: str
    place: Place
    blank_is_missing: bool
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


def _row(table: Mapping[str, T], key: str, what: str) -> T:
    """A table's row; none is a start-up error (``check_support`` reports the same at load, positioned)."""
    row = table.get(key)
    if row is None:
        raise UnsupportedFeatureError(f"{what} '{key}' is not supported by this runtime")
    return row


def _compile_param(p: m.ConsumedInputParameter, environ: Mapping[str, str]) -> _Param:
    row = _row(PLACEMENT, p.in_, "parameters in")
    fixed = environ.get(p.name) if p.in_ == "environment" and p.value is None else None
    template = compile_template(p.value) if p.value is not None else None
    return _Param(p.name, p.in_, row.place, row.blank_is_missing, template, fixed, bool(p.required))


class SendTarget(Protocol):
    """What :meth:`HttpConsumer.send` needs of an operation: its method, and its name for messages."""

    @property
    def method(self) -> str: ...

    @property
    def qualified(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Forwarded:
    method: str
    qualified: str


class BoundOperation:
    """One consumed operation, compiled: ``await op.call(args, scopes)`` sends it and returns the response."""

    def __init__(
        self,
        consumer: HttpConsumer,
        resource: m.ConsumedHttpResource,
        op: m.ConsumedHttpOperation,
        environ: Mapping[str, str],
    ) -> None:
        self.consumer = consumer
        self.resource = resource
        self.spec = op
        self.qualified = f"{consumer.namespace}.{op.name}"
        self.method = op.method
        raw_path, _, static_query = resource.path_template.partition("?")
        self.path = compile_path(raw_path if raw_path.startswith("/") else "/" + raw_path)
        self.static_query = static_query
        inputs = m.effective_inputs(
            consumer.spec.input_parameters, resource.input_parameters, op.input_parameters
        )
        params = [_compile_param(p, environ) for p in inputs]
        # a path parameter without a value of its own is read by the path template from the arguments
        params = [p for p in params if p.in_ != "path" or p.template or p.fixed]
        # environment values first: the other parameters' templates may read them
        self.params = tuple(sorted(params, key=lambda p: p.in_ != "environment"))
        self.single_body_param = sum(p.in_ == "body" for p in params) == 1
        self.body = _row(BODY, op.body.kind, "body type")(op.body.data) if op.body is not None else None
        self.decode_options: Mapping[str, Any] = (
            {"outputSchema": op.output_schema} if op.output_schema else {}
        )

    async def call(self, args: Mapping[str, Any], scopes: Scopes) -> UpstreamResponse:
        consumer = self.consumer
        out = Outgoing(dict(args), CIMultiDict(consumer.default_headers))
        full_scopes: Scopes = (*scopes, out.scope)
        for p in self.params:
            value = p.resolve(out.scope, full_scopes)
            if value is None or (p.blank_is_missing and value == ""):
                if p.required:
                    raise InvalidInputError(
                        f"{self.qualified} needs {p.in_} parameter '{p.name}'",
                        parameter=p.name,
                        location=p.in_,
                    )
                continue
            p.place(out, p.name, value)
        path = self.path.expand(out.path_values, (out.scope,))
        if self.body is not None:
            data, content_type = self.body(full_scopes, f"{self.qualified} body")
        else:
            data, content_type = params_body(out.body_values, self.single_body_param)
        if content_type is not None and "Content-Type" not in out.headers:
            out.headers["Content-Type"] = content_type
        return await consumer.dispatch(self, out, path, self.static_query, data, full_scopes)


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
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.namespace = spec.namespace
        self.base_uri = (base_uri or spec.base_uri).rstrip("/")
        self.base = self.base_uri
        parts = urlsplit(self.base_uri)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.timeouts = timeouts or Timeouts()
        self.redact = redactor or Redactor()
        self.bind_scopes: Scopes = bindings.scopes
        self.credentials = compile_auth(spec.authentication, bindings.scopes)
        if self.credentials is not None:
            self.redact.update(self.credentials.secrets)
        self.default_headers: dict[str, str] = {"Accept": "application/json", "User-Agent": USER_AGENT}
        env = bindings.environ if environ is None else environ
        self.operations: dict[str, BoundOperation] = {}
        for resource in spec.resources:
            for op in resource.operations:
                if op.name not in self.operations:
                    self.operations[op.name] = BoundOperation(self, resource, op, env)
        # what a forward adds of its own: the consumer's fixed header and query parameters
        self._forward_params = tuple(
            _compile_param(p, env) for p in spec.input_parameters if p.in_ in ("header", "query") and p.value
        )
        self._forward_name = f"{self.namespace} (forward)"
        self._session: aiohttp.ClientSession | None = None

    async def forward(
        self,
        method: str,
        path: str | None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
        *,
        query: str = "",
    ) -> UpstreamResponse:
        """Proxy one request to this API: the caller's (already filtered) headers, raw ``query`` string
        and body, plus this consumer's fixed parameters and credentials.

        ``path`` is appended to the base URI as it is (still percent-encoded); a ``.`` or ``..`` segment is
        refused, so a caller cannot climb out of the base path.
        """
        if path is not None and any(unquote(s) in (".", "..") for s in path.split("/")):
            raise InvalidInputError(
                "the forwarded path may not contain '.' or '..' segments", parameter="path", location="path"
            )
        out = Outgoing({}, CIMultiDict(headers))
        for p in self._forward_params:
            p.place(out, p.name, p.resolve({}, self.bind_scopes))
        suffix = "" if path is None else "/" + path
        target = _Forwarded(method, self._forward_name)
        return await self.dispatch(target, out, suffix, query, body or None, self.bind_scopes)

    async def dispatch(
        self, op: SendTarget, out: Outgoing, path: str, query: str, data: Any, scopes: Scopes
    ) -> UpstreamResponse:
        """Add credentials, cookies and the query to an assembled request, and send it."""
        if self.credentials is not None:
            self.credentials.apply(out, scopes)
        if out.cookies:
            out.headers["Cookie"] = "; ".join(out.cookies)
        if out.query:
            query = (query + "&" if query else "") + "&".join(out.query)
        url = self.base + path + ("?" + query if query else "")
        return await self.send(op, url, out.headers, data, out.middlewares)

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
        middlewares: Sequence[Any] = (),
    ) -> UpstreamResponse:
        if self._session is None:
            await self.start()
        session = self._session
        assert session is not None
        kwargs: dict[str, Any] = {"headers": headers, "data": data, "allow_redirects": False}
        if middlewares:
            kwargs["middlewares"] = tuple(middlewares)
        try:
            async with session.request(op.method, URL(url, encoded=True), **kwargs) as resp:
                body = await resp.read()
                note_upstream_status(resp.status)
                return UpstreamResponse(
                    resp.status, resp.reason or "", resp.headers.get("Content-Type", ""), body
                )
        except OAuthError as exc:
            raise UpstreamUnavailableError(f"{op.qualified}: {exc}", operation=op.qualified) from exc
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
