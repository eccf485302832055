"""``naftiko export openapi``: the OpenAPI 3.1 document each REST adapter of a capability serves at
``/openapi.json``, built by the same function, for the address and port the adapter declares."""

from __future__ import annotations

from typing import Any

from ..exposes.rest.openapi import build_openapi
from ..spec import model as m

#: where an adapter without an ``address`` listens (``naftiko serve`` without ``--host``)
DEFAULT_HOST = "127.0.0.1"


def export_openapi(doc: m.NaftikoDocument, namespace: str | None = None) -> dict[str, dict[str, Any]]:
    """``{adapter namespace: OpenAPI document}`` for each REST adapter (or only ``namespace``)."""
    adapters = [a for a in (doc.capability.exposes if doc.capability else ()) if isinstance(a, m.ExposesRest)]
    if namespace is not None:
        adapters = [a for a in adapters if a.namespace == namespace]
    return {
        a.namespace: build_openapi(a, doc, host=a.address or DEFAULT_HOST, port=a.port or 0) for a in adapters
    }
