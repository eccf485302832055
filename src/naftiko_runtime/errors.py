"""The runtime's exceptions.

Start-up failures stop the runtime before anything listens (``exit_code`` is what ``naftiko`` exits
with); request-time failures become one HTTP problem or one MCP ``isError`` result. Every message names
the parameter, JSON path or upstream status involved and never a bound value. A request error may carry
``retry_after`` (seconds): when to try again, sent as a ``Retry-After`` header over HTTP and in the error
result over MCP::

    NaftikoError
    ├── ConfigError                  exit 1: the configuration cannot be served as written
    │   ├── SpecError                the document cannot be interpreted (carries its findings)
    │   ├── BindingError             a bind cannot be resolved (missing variable, file, key, scheme)
    │   ├── SpecFileError            a file the document names (schema, script) is missing or unusable
    │   └── UnsupportedFeatureError  valid alpha2 that this runtime does not run
    ├── UsageError                   exit 2: the command line asks for something that cannot be
    ├── ServeError                   exit 1: nothing to serve, a port taken or shared, a server that stopped
    └── RequestError                 one call failed; ``status`` is the HTTP status REST answers with
        ├── InvalidInputError   400  a caller's input is missing or malformed
        ├── TemplateError       400  a template names a value that the call does not have
        ├── MisconfiguredError  500  the server cannot make the call as configured (a credential's value)
        ├── BusyError           503  a limit this server was given is reached (in flight, upstream limit)
        └── UpstreamError       502  the consumed API failed us
            ├── UpstreamStatusError     the caller's 4xx kept, the server's 4xx and any 5xx 502, 408 504
            ├── UpstreamTimeoutError    504
            ├── UpstreamUnavailableError 502
            │   └── CircuitOpenError    503  it failed repeatedly: calls fail fast for a cool-down
            ├── UpstreamPayloadError    502  the body is not what the operation declares (not JSON)
            │   └── UpstreamTooLargeError 502  a binary body larger than its maxBinarySize
            └── MappingError            502  the body does not fit the declared outputParameters
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .spec.findings import Finding


class NaftikoError(Exception):
    """Base of every error the runtime raises on purpose."""

    exit_code: ClassVar[int] = 1


class ConfigError(NaftikoError):
    """The configuration (documents, binds, adapters) cannot be served as written; the message says where."""


class UsageError(NaftikoError):
    """The command line asks for something that cannot be."""

    exit_code = 2


class ServeError(NaftikoError):
    """The capabilities cannot be served as asked: nothing to serve, a port taken or wanted twice."""


class SpecError(ConfigError):
    """The capability document cannot be interpreted; ``findings`` lists every reason."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        errors = [f for f in self.findings if f.severity == "error"]
        first = errors[0].format() if errors else "invalid capability document"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)


class BindingError(ConfigError):
    """A bind could not be resolved. The message names the key and the bind, never a value."""


class SpecFileError(ConfigError):
    """A file the document names (a schema, a script) is missing or unusable; names the file and path."""


class UnsupportedFeatureError(ConfigError):
    """The document is valid, but uses a feature this runtime does not run; it names the file and path."""


class RequestError(NaftikoError):
    """A single call failed. ``status`` is what the REST exposer answers; ``title`` heads the problem."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Request failed"

    #: seconds after which trying again may succeed (from the upstream's ``Retry-After``, or our own)
    retry_after: float | None = None

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions: dict[str, Any] = extensions

    @property
    def http_status(self) -> int:
        return self.status

    def with_retry_after(self, seconds: float | None) -> RequestError:
        """Set ``retry_after`` (whole seconds, at least 1) and name it among the extensions; returns self."""
        if seconds is not None:
            self.retry_after = max(1, math.ceil(seconds))
            self.extensions["retry_after"] = self.retry_after
        return self

    @property
    def headers(self) -> dict[str, str]:
        """Response headers that go with the error over HTTP."""
        return {} if self.retry_after is None else {"Retry-After": str(int(self.retry_after))}


class InvalidInputError(RequestError):
    status = 400
    title = "Invalid input"

    def __init__(
        self,
        detail: str,
        *,
        parameter: str | None = None,
        location: str | None = None,
        json_path: str | None = None,
    ) -> None:
        ext: dict[str, Any] = {}
        if parameter is not None:
            ext["parameter"] = parameter
        if location is not None:
            ext["in"] = location
        if json_path is not None:
            ext["json_path"] = json_path  # where in the JSON body (or the argument) the fault is
        super().__init__(detail, **ext)
        self.parameter = parameter


class TemplateError(RequestError):
    status = 400
    title = "Missing value"

    def __init__(self, detail: str, *, name: str) -> None:
        super().__init__(detail, parameter=name)
        self.name = name


class MisconfiguredError(RequestError):
    """The call cannot be made as the server is configured: never the caller's fault."""

    status = 500
    title = "Server misconfigured"


class BusyError(RequestError):
    """A limit this server was configured with is reached; the call was not made. Not the upstream's fault."""

    status = 503
    title = "Server busy"


class UpstreamError(RequestError):
    status = 502
    title = "Upstream failure"

    def __init__(self, detail: str, *, operation: str, **extensions: Any) -> None:
        super().__init__(detail, operation=operation, **extensions)
        self.operation = operation


#: Upstream 4xx statuses about how this server talks to the upstream (its credentials, method, media types,
#: protocol), never about what the caller asked: a server-side failure, answered 502
SERVER_SIDE_STATUSES = frozenset({401, 403, 405, 406, 407, 411, 415, 417, 421, 426, 428, 431})


class UpstreamStatusError(UpstreamError):
    """The upstream answered with a status of 400 or more.

    ``upstream_body`` is its own error body as a caller may need it (parsed JSON, or text; redacted and
    size-capped by whoever builds the error), carried as the ``upstreamBody`` member on every surface.
    """

    title = "Upstream error status"

    def __init__(
        self, detail: str, *, operation: str, upstream_status: int, upstream_body: Any = None
    ) -> None:
        super().__init__(
            detail, operation=operation, upstream_status=upstream_status, upstream_body=upstream_body
        )
        self.upstream_status = upstream_status
        self.upstream_body = upstream_body

    @property
    def http_status(self) -> int:
        """The caller's status: a 4xx about the caller's request is kept (400, 404, 409, 422, 429, ...);
        a refused credential or request shape is the server's (502); an upstream 408 is a timeout (504)."""
        status = self.upstream_status
        if status == 408:
            return 504
        if 400 <= status < 500 and status not in SERVER_SIDE_STATUSES:
            return status
        return 502


class UpstreamTimeoutError(UpstreamError):
    status = 504
    title = "Upstream timeout"


class UpstreamUnavailableError(UpstreamError):
    title = "Upstream unavailable"


class CircuitOpenError(UpstreamUnavailableError):
    """The upstream failed repeatedly; calls to it fail fast until its cool-down ends (then one probes)."""

    status = 503
    title = "Upstream circuit open"


class UpstreamPayloadError(UpstreamError):
    title = "Unexpected upstream payload"


class UpstreamTooLargeError(UpstreamPayloadError):
    """A binary body over its ``maxBinarySize``; ``limit`` is that size in bytes."""

    title = "Upstream body too large"

    def __init__(self, detail: str, *, operation: str, limit: int) -> None:
        UpstreamError.__init__(self, detail, operation=operation, limit=limit)
        self.limit = limit


class MappingError(UpstreamError):
    title = "Output mapping failed"
