"""The REST adapter (``type: rest``): one plain ASGI app per adapter, with its OpenAPI description.

Modules: ``app`` (build and serve), ``routes`` (raw-path routing), ``endpoint`` (one operation),
``inputs`` (reading and coercing inputs), ``checks`` (what the readers leave to check), ``forward``
(proxy resources), ``responses`` (JSON, problems, request bodies), ``openapi`` (the description).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...spec import model as m
from ...spec.checks import Check
from ..adapter import AdapterKind
from .app import RestApp, build_rest_app
from .inputs import check_patterns
from .responses import MAX_BODY_BYTES


def check_rest(adapter: m.ExposesRest, document: m.NaftikoDocument) -> Iterator[Check]:
    """What this runtime cannot do with a valid REST adapter: input patterns it cannot compile."""
    for resource in adapter.resources:
        yield from check_patterns(resource.input_parameters)
        for op in resource.operations:
            yield from check_patterns(op.input_parameters)


REST = AdapterKind("rest", m.ExposesRest, build_rest_app, path="/", check=check_rest)

__all__ = ["MAX_BODY_BYTES", "REST", "RestApp", "build_rest_app", "check_rest"]
