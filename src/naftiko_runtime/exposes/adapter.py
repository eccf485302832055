"""The shape of one row of :data:`naftiko_runtime.exposes.ADAPTERS`: everything the server needs to know
about one adapter ``type``, so that serving a new type is one module defining its row."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from starlette.types import ASGIApp

from ..engine import Runtime
from ..spec import model as m
from ..spec.checks import Check

A = TypeVar("A")
A_contra = TypeVar("A_contra", contravariant=True)


class AppBuilder(Protocol[A_contra]):
    """Compile one adapter into its ASGI app. ``host``/``port`` are where it will listen (for the
    descriptions it serves); ``allow_hosts`` are extra names clients may reach it by."""

    def __call__(
        self, adapter: A_contra, runtime: Runtime, *, host: str, port: int, allow_hosts: Sequence[str] = ()
    ) -> ASGIApp: ...


#: serve the adapter on stdin/stdout until stdin closes
StdioServer = Callable[[A, Runtime], Awaitable[None]]
#: the adapter's own load-time checks: ``(severity, json path, message, at_key)``, as spec checks yield
AdapterCheck = Callable[[A, m.NaftikoDocument], Iterator[Check]]


def no_checks(adapter: Any, document: m.NaftikoDocument) -> Iterator[Check]:
    return iter(())


@dataclass(frozen=True, slots=True)
class AdapterKind(Generic[A]):
    """How this runtime serves one adapter ``type``."""

    type: str
    #: the model class the spec builder makes for this type
    model: builtins.type[A]
    build: AppBuilder[A]
    #: where the app serves its protocol: ``/`` (the whole tree) or e.g. ``/mcp``
    path: str = "/"
    stdio: StdioServer[A] | None = None
    check: AdapterCheck[A] = no_checks

    def wants_stdio(self, adapter: A) -> bool:
        """The adapter declares ``transport: stdio`` (and this type can serve it)."""
        return self.stdio is not None and getattr(adapter, "transport", "http") == "stdio"
