"""Calling consumed HTTP operations with aiohttp: the core.

One :class:`HttpConsumer` per ``consumes`` namespace owns one ``aiohttp.ClientSession`` (so one
connection pool per upstream). Each operation is compiled once into a :class:`BoundOperation`: its URL
template, its parameters (each placed by its ``in`` row, ``placement.py``), its body builder
(``body.py``) and the consumer's credentials (``auth.py``). A call then only renders values and sends,
under the namespace's :class:`~.resilience.Policy` (timeouts, retries, concurrency limit, circuit
breaker). :meth:`HttpConsumer.forward` is the public way to proxy a request to the consumed API as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from multidict import CIMultiDict

from .. import __version__
from ..binds import Bindings, Redactor
from ..errors import (
    BindingError,
    InvalidInputError,
    UnsupportedFeatureError,
    UpstreamPayloadError,
)
from ..expressions import MISSING, Template, compile_path, compile_template
from ..formats import STREAMED
from ..formats.json import valid
from ..spec import model as m
from .auth import compile_auth
from .body import BODY, params_body
from .placement import PLACEMENT, Outgoing, Place, Scopes
from .resilience import SAFE_METHODS, Policy, fill_keys
from .resilience import Timeouts as Timeouts
from .send import SendTarget as SendTarget
from .send import Upstream
from .send import UpstreamResponse as UpstreamResponse

T = TypeVar("T")

USER_AGENT = f"naftiko-runtime/{__version__}"


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
        #: ``outputRawFormat: binary``: a terminal call streams the body (:meth:`call` with ``stream``)
        self.binary = op.output_raw_format in STREAMED
        headers = dict(consumer.default_headers)
        if self.binary:
            headers["Accept"] = op.output_media_type or "*/*"
        #: copied for each call (a copy is cheaper than a new map)
        self.headers: CIMultiDict[str] = CIMultiDict(headers)

    async def call(
        self, args: Mapping[str, Any], scopes: Scopes, *, idempotent: bool = False, stream: bool = False
    ) -> UpstreamResponse:
        """Send the operation; ``idempotent`` says the caller declared it safe to repeat (retries allowed);
        ``stream`` leaves a successful body open (:class:`~.stream.BinaryBody`) for the caller to close."""
        consumer = self.consumer
        repeatable = idempotent or self.method in SAFE_METHODS
        out = Outgoing(dict(args), self.headers.copy())
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
        key = consumer.policy.idempotency_key
        if key is not None and self.body is None and out.body_values:
            repeatable = fill_keys(out.body_values, key, self.single_body_param) or repeatable
        if self.body is not None:
            data, content_type = self.body(full_scopes, f"{self.qualified} body")
        else:
            data, content_type = params_body(out.body_values, self.single_body_param)
        if content_type is not None and "Content-Type" not in out.headers:
            out.headers["Content-Type"] = content_type
        url = consumer.address(out, path, self.static_query, full_scopes)
        response = await consumer.send(
            self, url, out.headers, data, out.middlewares, repeatable=repeatable, stream=stream
        )
        if response.stream is not None:
            response.stream.declared_limit = self.spec.max_binary_size
        return response


def _resolve_base_uri(spec: m.ConsumesHttp, bindings: Bindings, env: Mapping[str, str]) -> str:
    """The base URI; one that is wholly a template (``{{BASE_URL}}``) is read from the binds, else the
    environment, and must be an http(s) URL."""
    name = m.template_name(spec.base_uri)
    if name is None:
        return spec.base_uri
    value = bindings.flat.get(name) or env.get(name)
    where = f"consumes '{spec.namespace}': baseUri {{{{{name}}}}}"
    if not value:
        raise BindingError(f"{where} is neither a bind nor an environment variable")
    if not str(value).startswith(("http://", "https://")) or not urlsplit(str(value)).netloc:
        raise BindingError(f"{where} does not hold an http(s) URL")
    return str(value)


class HttpConsumer(Upstream):
    """A consumed HTTP API: one connection pool, its credentials, and its compiled operations."""

    def __init__(
        self,
        spec: m.ConsumesHttp,
        bindings: Bindings,
        *,
        base_uri: str | None = None,
        timeouts: Timeouts | None = None,
        policy: Policy | None = None,
        redactor: Redactor | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = bindings.environ if environ is None else environ
        super().__init__(
            spec.namespace,
            base_uri or _resolve_base_uri(spec, bindings, env),
            (policy or Policy()).with_timeouts(timeouts),
        )
        self.spec = spec
        self.base = self.base_uri
        self.redact = redactor or Redactor()
        self.bind_scopes: Scopes = bindings.scopes
        self.credentials = compile_auth(spec.authentication, bindings.scopes)
        if self.credentials is not None:
            self.redact.update(self.credentials.secrets)
        self.default_headers: dict[str, str] = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self.operations: dict[str, BoundOperation] = {}
        for resource in spec.resources:
            for op in resource.operations:
                if op.name not in self.operations:
                    self.operations[op.name] = BoundOperation(self, resource, op, env)
        # what a forward adds of its own: the consumer's fixed header and query parameters
        self._forward_params = tuple(
            _compile_param(p, env) for p in spec.input_parameters if p.in_ in ("header", "query") and p.value
        )
        self.forward_name = f"{self.namespace} (forward)"

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
        target = _Forwarded(method, self.forward_name)
        repeatable = method.upper() in SAFE_METHODS
        url = self.address(out, suffix, query, self.bind_scopes)
        response = await self.send(
            target, url, out.headers, body or None, out.middlewares, repeatable=repeatable
        )
        # passed through as it is, but not as what it is not: a body labelled JSON must be JSON (a failure
        # status is the caller's to report, whatever its body)
        body = response.body
        if response.status < 400 and "json" in response.content_type.lower() and body.strip():
            if not valid(body):
                raise UpstreamPayloadError(
                    f"{self.forward_name} answered HTTP {response.status} with "
                    f"{response.content_type.split(';')[0]} that is not JSON: "
                    f"{response.text_excerpt(self.redact, 120)}",
                    operation=self.forward_name,
                )
        return response

    def address(self, out: Outgoing, path: str, query: str, scopes: Scopes) -> str:
        """Add credentials and cookies to an assembled request; return its URL, with the query."""
        if self.credentials is not None:
            self.credentials.apply(out, scopes)
        if out.cookies:
            out.headers["Cookie"] = "; ".join(out.cookies)
        if out.query:
            query = (query + "&" if query else "") + "&".join(out.query)
        return self.base + path + ("?" + query if query else "")
