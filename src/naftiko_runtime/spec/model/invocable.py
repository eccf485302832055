"""What runs when something exposed is invoked: the :class:`Invocable`, its steps and output parameters.

An exposed REST operation, an MCP tool, an MCP resource and an aggregate function each embed one
``Invocable``; the builder makes it once and the engine compiles it whole. The rules every reader of an
invocable shares live here too: what a ``with`` reference is, and how nested input parameters merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from ..findings import Path
from .base import ParamIn, WithValue


@dataclass(frozen=True, slots=True)
class OutputParameter:
    """A mapped, orchestrated or mock output parameter (the three families share this shape)."""

    type: str
    name: str | None = None
    mapping: str | None = None
    value: str | None = None
    const: Any = None
    has_const: bool = False
    description: str | None = None
    properties: Mapping[str, OutputParameter] | None = None
    items: OutputParameter | tuple[OutputParameter, ...] | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class OperationStep:
    type: Literal["call", "lookup", "script"]
    name: str
    call: str | None = None
    with_: Mapping[str, WithValue] = field(default_factory=dict)
    index: str | None = None
    match: str | None = None
    lookup_value: str | None = None
    output_parameters: tuple[str, ...] = ()
    #: script steps: the file, relative to ``location`` (both may default from the control adapter)
    file: str | None = None
    language: str | None = None
    location: str | None = None
    dependencies: tuple[str, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class StepOutputMapping:
    target_name: str
    value: str
    path: Path = ()


# --- with -----------------------------------------------------------------------------------------------

#: the alias a ``with`` reference may use for its own adapter's inputs, by adapter type
WITH_ALIASES: Mapping[str, str] = {"rest": "rest", "mcp": "tools"}


def with_prefixes(namespace: str, adapter_type: str | None = None) -> tuple[str, ...]:
    """What a ``with`` reference to the caller's own inputs starts with: ``<namespace>.``, then the alias."""
    alias = WITH_ALIASES.get(adapter_type) if adapter_type else None
    return (f"{namespace}.", f"{alias}.") if alias else (f"{namespace}.",)


def with_reference(value: WithValue, prefixes: Iterable[str]) -> str | None:
    """The input name a ``with`` value references (``<prefix><name>``), or None for a template or literal."""
    if not isinstance(value, str):
        return None
    for prefix in prefixes:
        if value.startswith(prefix) and len(value) > len(prefix):
            return value[len(prefix) :]
    return None


# --- the invocable --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invocable:
    """One consumed operation (``call``), an aggregate function (``ref``) or ``steps``; with none of them, a
    mock answer built from the ``outputParameters``. ``path`` is the owner's (findings point into it)."""

    call: str | None = None
    ref: str | None = None
    with_: Mapping[str, WithValue] = field(default_factory=dict)
    steps: tuple[OperationStep, ...] = ()
    mappings: tuple[StepOutputMapping, ...] = ()
    output_parameters: tuple[OutputParameter, ...] = ()
    #: what a ``with`` reference to the caller's inputs starts with (see :func:`with_prefixes`)
    prefixes: tuple[str, ...] = ()
    path: Path = ()
    #: the owner's declared inputs a call may leave out (a ``with`` of just ``{{name}}`` is then omitted)
    optional_inputs: frozenset[str] = frozenset()

    def reference(self, value: WithValue) -> str | None:
        return with_reference(value, self.prefixes)

    @property
    def calls_upstream(self) -> bool:
        return self.call is not None or self.ref is not None or bool(self.steps)


class Invoking:
    """Base of the spec objects that embed an :class:`Invocable`; ``call`` and ``ref`` read through to it."""

    __slots__ = ()
    invocable: Invocable

    @property
    def call(self) -> str | None:
        return self.invocable.call

    @property
    def ref(self) -> str | None:
        return self.invocable.ref


# --- input parameters -----------------------------------------------------------------------------------


class _Parameter(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def in_(self) -> ParamIn: ...


P = TypeVar("P", bound=_Parameter)


def effective_inputs(*levels: Iterable[P]) -> tuple[P, ...]:
    """Input parameters declared at nested levels (consumer, resource, operation), outermost first: a
    parameter replaces an outer one of the same name and location, keeping the outer one's place."""
    merged: dict[tuple[str, str], P] = {}
    for level in levels:
        for p in level:
            merged[(p.name, p.in_)] = p
    return tuple(merged.values())
