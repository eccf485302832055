"""Exposers: how each ``exposes`` adapter ``type`` is served, one row of :data:`ADAPTERS` per type.

A row (:class:`~.adapter.AdapterKind`) builds the adapter's ASGI app, names the URL path it serves its
protocol at, says whether and how it serves stdio, and checks at load what this runtime cannot do with a
valid adapter of its type. Serving a new type is one module defining its row, and the row added here.

:func:`check_adapters` gives ``validate`` and ``serve`` the same positioned findings: an adapter type
with no row is reported as not served (never skipped in silence), an inbound authentication that cannot
be enforced is an error, and each row adds its own checks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..engine import Runtime
from ..spec import model as m
from ..spec.checks import Check
from ..spec.findings import Finding, Severity
from ..spec.loader import LoadResult
from .adapter import AdapterKind, AppBuilder
from .control import CONTROL
from .inbound import check_authentication, protect
from .mcp import MCP
from .rest import REST
from .skill import SKILL

#: adapter ``type`` -> how this runtime serves it
ADAPTERS: Mapping[str, AdapterKind[Any]] = {row.type: row for row in (REST, MCP, CONTROL, SKILL)}


def adapter_kind(adapter: m.Exposes) -> AdapterKind[Any] | None:
    """The row serving this adapter, or None when this runtime does not serve its type."""
    return ADAPTERS.get(adapter.type)


def check_adapters(result: LoadResult, severity: Severity | None = None) -> list[Finding]:
    """Every adapter finding of a loaded file, positioned (apply before ``--strict`` escalates warnings).

    Each finding has its own severity (an unserved type is a warning, an inbound authentication that
    cannot be enforced an error) unless ``severity`` says otherwise (``validate`` lists them all as
    warnings: the document is valid). Merge with ``result.with_findings(check_adapters(result))``.
    """
    document = result.document
    if document is None or document.capability is None:
        return []
    return [
        result.finding(severity or own, result.file, path, message)  # type: ignore[arg-type]
        for own, path, message, _ in _checks(document)
    ]


def _checks(document: m.NaftikoDocument) -> Iterator[Check]:
    assert document.capability is not None
    served = ", ".join(sorted(ADAPTERS))
    for adapter in document.capability.exposes:
        kind = adapter_kind(adapter)
        if kind is None:
            name = f" '{adapter.namespace}'" if adapter.namespace else ""
            message = f"{adapter.type} adapter{name} is not served by this runtime (it serves {served})"
            yield ("warning", (*adapter.path, "type"), message, False)
            continue
        yield from check_authentication(getattr(adapter, "authentication", None), adapter.path)
        yield from kind.check(adapter, document)


__all__ = ["ADAPTERS", "AdapterKind", "AppBuilder", "Runtime", "adapter_kind", "check_adapters", "protect"]
