"""Aggregates and the roots: the capability and the document."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..findings import Path
from .base import Binding, Info
from .consumes import ConsumesHttp, ImportedConsumesHttp
from .exposes import Exposes, ExposesMcp, ExposesRest, McpToolInputParameter
from .invocable import Invocable, Invoking


@dataclass(frozen=True, slots=True)
class Semantics:
    safe: bool | None = None
    idempotent: bool | None = None
    cacheable: bool | None = None


@dataclass(frozen=True, slots=True)
class AggregateFunction(Invoking):
    name: str
    description: str | None = None
    semantics: Semantics | None = None
    input_parameters: tuple[McpToolInputParameter, ...] | None = None
    invocable: Invocable = field(default_factory=Invocable)
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Aggregate:
    namespace: str
    label: str | None = None
    functions: tuple[AggregateFunction, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Capability:
    consumes: tuple[ConsumesHttp, ...] = ()
    exposes: tuple[Exposes, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    binds: tuple[Binding, ...] = ()
    imports: tuple[ImportedConsumesHttp, ...] = ()


@dataclass(frozen=True, slots=True)
class NaftikoDocument:
    naftiko: str
    file: str
    info: Info | None = None
    binds: tuple[Binding, ...] = ()
    capability: Capability | None = None
    #: root-level ``consumes``: a shared consumer file that capabilities import
    consumes: tuple[ConsumesHttp, ...] = ()
    #: the directory relative paths in the document (imports, schema and script files) are read from
    base_dir: str = "."

    @property
    def all_binds(self) -> tuple[Binding, ...]:
        return self.binds + (self.capability.binds if self.capability else ())

    def consumer(self, namespace: str) -> ConsumesHttp | None:
        if self.capability is None:
            return None
        for c in self.capability.consumes:
            if c.namespace == namespace:
                return c
        return None

    def aggregate_function(self, ref: str) -> AggregateFunction | None:
        if self.capability is None or "." not in ref:
            return None
        ns, fn = ref.split(".", 1)
        for agg in self.capability.aggregates:
            if agg.namespace == ns:
                for f in agg.functions:
                    if f.name == fn:
                        return f
        return None

    def invocables(self) -> Iterator[Invocable]:
        """Every invocable: aggregate functions, REST operations, MCP tools and (dynamic) MCP resources."""
        if self.capability is None:
            return
        owners: list[Invoking] = [f for agg in self.capability.aggregates for f in agg.functions]
        for adapter in self.capability.exposes:
            if isinstance(adapter, ExposesRest):
                owners += [op for r in adapter.resources for op in r.operations]
            elif isinstance(adapter, ExposesMcp):
                owners += [*adapter.tools, *(r for r in adapter.resources if r.location is None)]
        for owner in owners:
            yield owner.invocable
