"""Building invocables (call, ref, with, steps, mappings, output parameters), the declared inputs of tools
and functions, and the aggregates whose functions are invocables of their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from .. import model as m
from ..findings import Path
from .reader import OUTPUT_TYPES, Reader, describe, scalar_text, str_or_none


class InvocableReader(Reader):
    def invocable(
        self, node: Mapping[str, Any], path: Path, prefixes: tuple[str, ...], *, ref: bool = True
    ) -> m.Invocable:
        """The invocable of the object at ``path``; ``prefixes`` are its own inputs' reference prefixes."""
        return m.Invocable(
            call=self.text(node, "call", path),
            ref=self.text(node, "ref", path) if ref else None,
            with_=self.with_table(node, path),
            steps=self.steps(node, path),
            mappings=self.mappings(node, path),
            output_parameters=self.items(node, "outputParameters", path, self.output),
            prefixes=prefixes,
            path=path,
            optional_inputs=_optional_inputs(node.get("inputParameters")),
        )

    def output(self, node: Mapping[str, Any], path: Path) -> m.OutputParameter:
        kind = self.enum(node, "type", path, OUTPUT_TYPES, default="string")
        if "type" not in node:
            kind = "object" if "properties" in node else "array" if "items" in node else "string"
        props_node = self.get(node, "properties", path, dict)
        properties: dict[str, m.OutputParameter] | None = None
        if props_node is not None:
            properties = {}
            for key, child in props_node.items():
                cp = (*path, "properties", key)
                if isinstance(child, dict):
                    properties[key] = self.output(child, cp)
                else:
                    self.error(cp, f"expected an output parameter object, got {describe(child)}")
        items: m.OutputParameter | tuple[m.OutputParameter, ...] | None = None
        raw_items = node.get("items")
        if isinstance(raw_items, dict):
            items = self.output(raw_items, (*path, "items"))
        elif isinstance(raw_items, list):
            items = self.items(node, "items", path, self.output)
        elif raw_items is not None:
            self.error((*path, "items"), f"expected an object or a list, got {describe(raw_items)}")
        mapping = node.get("mapping")
        if mapping is not None and not isinstance(mapping, str):
            self.error((*path, "mapping"), f"a mapping is a JSONPath string, got {describe(mapping)}")
            mapping = None
        return m.OutputParameter(
            type=kind or "string",
            name=str_or_none(node.get("name")),
            mapping=mapping,
            value=scalar_text(node.get("value")),
            const=node.get("const"),
            has_const="const" in node,
            description=str_or_none(node.get("description")),
            properties=properties,
            items=items,
            path=path,
        )

    def steps(self, node: Mapping[str, Any], path: Path) -> tuple[m.OperationStep, ...]:
        return self.items(node, "steps", path, self.step)

    def step(self, node: Mapping[str, Any], path: Path) -> m.OperationStep | None:
        kind = self.enum(node, "type", path, ("call", "lookup", "script"), required=True)
        if kind is None:
            return None
        return m.OperationStep(
            type=cast(Any, kind),
            name=self.req_text(node, "name", path),
            call=self.text(node, "call", path, required=kind == "call"),
            with_=self.with_table(node, path),
            index=self.text(node, "index", path, required=kind == "lookup"),
            match=self.text(node, "match", path, required=kind == "lookup"),
            lookup_value=self.text(node, "lookupValue", path, required=kind == "lookup"),
            output_parameters=self.strings(node, "outputParameters", path) if kind == "lookup" else (),
            file=self.text(node, "file", path, required=kind == "script"),
            language=self.text(node, "language", path),
            location=self.text(node, "location", path),
            dependencies=self.strings(node, "dependencies", path),
            path=path,
        )

    def mappings(self, node: Mapping[str, Any], path: Path) -> tuple[m.StepOutputMapping, ...]:
        return self.items(
            node,
            "mappings",
            path,
            lambda n, p: m.StepOutputMapping(
                self.req_text(n, "targetName", p), self.req_text(n, "value", p), p
            ),
        )

    def tool_inputs(self, node: Mapping[str, Any], path: Path) -> tuple[m.McpToolInputParameter, ...] | None:
        if "inputParameters" not in node:
            return None
        return self.items(node, "inputParameters", path, self.tool_input)

    def tool_input(self, node: Mapping[str, Any], path: Path) -> m.McpToolInputParameter:
        items = node.get("items")
        enum = node.get("enum")
        required = self.flag(node, "required", path)
        return m.McpToolInputParameter(
            name=self.req_text(node, "name", path),
            type=self.enum(node, "type", path, OUTPUT_TYPES, default="string") or "string",
            description=self.text(node, "description", path),
            required=True if required is None else required,
            items=items if isinstance(items, dict) else None,
            enum=tuple(enum) if isinstance(enum, list) else None,
            default=node.get("default"),
            path=path,
        )

    # --- aggregates -------------------------------------------------------------------------------------

    def aggregate(self, node: Mapping[str, Any], path: Path) -> m.Aggregate:
        namespace = self.req_text(node, "namespace", path)
        prefixes = m.with_prefixes(namespace)
        return m.Aggregate(
            namespace=namespace,
            label=self.text(node, "label", path),
            functions=self.items(
                node, "functions", path, lambda n, p: self.aggregate_function(n, p, prefixes), required=True
            ),
            path=path,
        )

    def aggregate_function(
        self, node: Mapping[str, Any], path: Path, prefixes: tuple[str, ...]
    ) -> m.AggregateFunction:
        sem_node = self.get(node, "semantics", path, dict)
        semantics = None
        if sem_node is not None:
            sp = (*path, "semantics")
            semantics = m.Semantics(
                safe=self.flag(sem_node, "safe", sp),
                idempotent=self.flag(sem_node, "idempotent", sp),
                cacheable=self.flag(sem_node, "cacheable", sp),
            )
        return m.AggregateFunction(
            name=self.req_text(node, "name", path),
            description=self.text(node, "description", path),
            semantics=semantics,
            input_parameters=self.tool_inputs(node, path),
            invocable=self.invocable(node, path, prefixes, ref=False),
            path=path,
        )


def _optional_inputs(params: Any) -> frozenset[str]:
    """Declared inputs a caller may omit: ``required: false``, or a REST input read from anywhere but the
    path that does not say ``required: true``."""
    names = set()
    for p in params if isinstance(params, list) else ():
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            continue
        required = p.get("required")
        if required is False or ("in" in p and p["in"] != "path" and required is not True):
            names.add(p["name"])
    return frozenset(names)
