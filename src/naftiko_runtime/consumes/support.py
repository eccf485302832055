"""Load-time support checks: what a document asks of the consumers that this runtime has no row for.

Valid alpha2 can declare a payload format, an outbound authentication scheme or a body kind that the
runtime does not implement, or a header or cookie name that HTTP cannot carry. Each is found here, at
load, from the same tables the consumers dispatch on, so the answer can never drift from what runs:
``serve`` refuses the document before it binds a socket, ``validate`` lists the findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..formats import DECODERS
from ..spec import model as m
from ..spec.findings import Finding, Path, Severity
from ..spec.loader import LoadResult
from .auth import OUTBOUND_AUTH
from .body import BODY
from .placement import PLACEMENT

#: ``(file, JSON path, message)`` of one unsupported feature
Gap = tuple[str, Path, str]


def unsupported(document: m.NaftikoDocument) -> Iterator[Gap]:
    """Every feature of ``document``'s consumers with no row in the runtime's tables."""
    consumers = document.consumes + (document.capability.consumes if document.capability else ())
    for consumer in consumers:
        yield from _consumer(document.file, consumer)


def check_support(result: LoadResult, *, severity: Severity = "error") -> list[Finding]:
    """:func:`unsupported` as positioned findings (``FILE:LINE:COL  $.path  severity: message``)."""
    if result.document is None:
        return []
    return [
        result.finding(severity, file, path, message) for file, path, message in unsupported(result.document)
    ]


def _consumer(file: str, consumer: m.ConsumesHttp) -> Iterator[Gap]:
    source = consumer.source or file
    imported = source != file
    auth = consumer.authentication
    if auth is not None and auth.type not in OUTBOUND_AUTH:
        if imported:  # the consumer's own path was replaced by its import entry's
            yield (
                file,
                consumer.path,
                (
                    f"consumer '{consumer.namespace}' (imported from {source}) uses outbound {auth.type} "
                    "authentication, which this runtime does not support"
                ),
            )
        else:
            yield (
                file,
                (*consumer.path, "authentication", "type"),
                (
                    f"outbound {auth.type} authentication is not supported by this runtime "
                    f"(supported: {_names(OUTBOUND_AUTH)})"
                ),
            )
    params = [(consumer.path, p) for p in consumer.input_parameters] if not imported else []
    for resource in consumer.resources:
        params += [(resource.path, p) for p in resource.input_parameters]
        for op in resource.operations:
            params += [(op.path, p) for p in op.input_parameters]
            fmt = op.output_raw_format or "json"
            if fmt not in DECODERS:
                yield (
                    source,
                    (*op.path, "outputRawFormat"),
                    (
                        f"outputRawFormat '{fmt}' is not supported by this runtime "
                        f"(supported: {_names(DECODERS)})"
                    ),
                )
            if op.body is not None and op.body.kind not in BODY:
                yield (
                    source,
                    (*op.body.path, "type"),
                    (
                        f"body type '{op.body.kind}' is not supported by this runtime "
                        f"(supported: {_names(BODY)})"
                    ),
                )
    for owner, param in params:
        row = PLACEMENT.get(param.in_)
        where = param.path or owner
        if row is None:
            yield source, (*where, "in"), f"parameters 'in: {param.in_}' are not supported by this runtime"
            continue
        reason = row.check_name(param.name)
        if reason is not None:
            yield source, (*where, "name"), reason


def _names(table: Iterable[str]) -> str:
    return ", ".join(name for name in sorted(table) if name != "raw")


__all__ = ["Gap", "check_support", "unsupported"]
