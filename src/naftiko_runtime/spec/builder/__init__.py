"""Build the typed model from a parsed document.

The builder is the judge of what can be *interpreted*: a value it needs that is missing, of the wrong
type or outside its enum is an error here (the schema findings for the same node are then redundant).
Anything it can read, it reads, even when the schema would say otherwise; those deviations are reported
as warnings by the schema pass. One reader per spec area (``consumes``, ``invocable`` with aggregates,
``exposes``); :class:`Builder` adds the document's root objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import model as m
from ..findings import Path
from .exposes import ExposesReader
from .reader import describe, str_or_none


class Builder(ExposesReader):
    """Reads one document; ``errors`` collects ``(path, message)`` for everything it cannot interpret."""

    def document(
        self, data: Any, *, shared_sections: tuple[str, ...] = ("consumes",)
    ) -> m.NaftikoDocument | None:
        if not isinstance(data, dict):
            self.error((), f"a Naftiko document must be a mapping, got {describe(data)}")
            return None
        version = self.req_text(data, "naftiko", ())
        info_node = self.get(data, "info", (), dict)
        info = self.info(info_node, ("info",)) if info_node is not None else None
        binds = self.items(data, "binds", (), self.binding)
        capability_node = self.get(data, "capability", (), dict)
        capability = (
            self.capability(capability_node, ("capability",)) if capability_node is not None else None
        )
        consumes = tuple(
            c for c in self.items(data, "consumes", (), self.consumes_entry) if isinstance(c, m.ConsumesHttp)
        )
        if capability is None and not any(section in data for section in shared_sections):
            shared = " or ".join(f"'{section}'" for section in shared_sections)
            self.error((), f"a document needs 'capability' (or a root {shared} for a shared file)")
        return m.NaftikoDocument(
            naftiko=version, file=self.file, info=info, binds=binds, capability=capability, consumes=consumes
        )

    def info(self, node: Mapping[str, Any], path: Path) -> m.Info:
        return m.Info(
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            tags=self.strings(node, "tags", path),
            created=str_or_none(node.get("created")),
            modified=str_or_none(node.get("modified")),
            version=self.text(node, "version", path),
        )

    def binding(self, node: Mapping[str, Any], path: Path) -> m.Binding | None:
        keys = self.get(node, "keys", path, dict, required=True) or {}
        clean: dict[str, str] = {}
        for var, provider_key in keys.items():
            if isinstance(provider_key, (str, int)) and not isinstance(provider_key, bool):
                clean[str(var)] = str(provider_key)
            else:
                self.error(
                    (*path, "keys", var),
                    f"a bind key must map to a provider key name, got {describe(provider_key)}",
                )
        return m.Binding(
            namespace=self.req_text(node, "namespace", path),
            keys=clean,
            location=self.text(node, "location", path),
            description=self.text(node, "description", path),
            path=path,
        )

    def capability(self, node: Mapping[str, Any], path: Path) -> m.Capability:
        entries = self.items(node, "consumes", path, self.consumes_entry)
        return m.Capability(
            consumes=tuple(c for c in entries if isinstance(c, m.ConsumesHttp)),
            imports=tuple(c for c in entries if isinstance(c, m.ImportedConsumesHttp)),
            exposes=self.items(node, "exposes", path, self.exposes),
            aggregates=self.items(node, "aggregates", path, self.aggregate),
            binds=self.items(node, "binds", path, self.binding),
        )


__all__ = ["Builder"]
