"""Shape an upstream JSON payload with exposed ``outputParameters``, compiled once at load.

- no output parameters: the payload as it came;
- ``value``: a static or templated value (over the call's inputs), coerced to the declared scalar type;
- ``const``: that constant;
- ``mapping``: a JSONPath into the payload; an ``object`` with ``properties`` builds an object from
  them (relative to its own mapping when it has one), an ``object`` without properties (or with
  ``properties: {}``, the schema-valid spelling) returns the mapped value as is, an ``array`` maps each
  element through ``items``;
- several top-level parameters: named ones build an object, otherwise the first that yields a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MappingError
from .expressions import MISSING, JsonPath, Template, compile_jsonpath, compile_template
from .spec.model import OutputParameter


@dataclass(frozen=True, slots=True)
class Shape:
    kind: str
    name: str | None
    path: JsonPath | None
    template: Template | None
    const: Any
    has_const: bool
    properties: tuple[tuple[str, Shape], ...] | None
    items: Shape | None
    where: str

    def apply(self, payload: Any, scopes: Sequence[Mapping[str, Any]], operation: str) -> Any:
        if self.has_const:
            return self.const
        if self.template is not None:
            return _coerce(self.kind, self.template.value(scopes, what="output value"))
        base = payload if self.path is None else self.path.find(payload)
        if self.kind == "object" and self.properties is not None:
            if self.path is not None and (base is MISSING or base is None):
                return None
            return {name: _none(shape.apply(base, scopes, operation)) for name, shape in self.properties}
        if self.kind == "array":
            if base is None and self.path is None and self.items is not None:
                # mock mode: no payload, the array holds one element built from its items
                return [_none(self.items.apply(None, scopes, operation))]
            if base is MISSING or base is None:
                return []
            if not isinstance(base, list):
                raise MappingError(
                    f"{operation}: output {self.where} expects an array at "
                    f"{self.path.source if self.path else '$'}, got {_kind(base)}",
                    operation=operation,
                )
            if self.items is None:
                return base
            return [_none(self.items.apply(element, scopes, operation)) for element in base]
        return _none(base)


def _none(value: Any) -> Any:
    return None if value is MISSING else value


def _coerce(kind: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
        if kind == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
    except ValueError:
        return value
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def compile_shape(param: OutputParameter, where: str) -> Shape:
    template = None
    if param.value is not None and not param.value.startswith("$"):
        template = compile_template(param.value)
    mapping = param.mapping
    if mapping is None and param.value is not None and param.value.startswith("$"):
        mapping = param.value
    properties = None
    if param.properties:  # ``properties: {}`` declares no shape: the mapped value passes as is
        properties = tuple(
            (name, compile_shape(child, f"{where}.{name}")) for name, child in param.properties.items()
        )
    items = None
    if isinstance(param.items, OutputParameter):
        items = compile_shape(param.items, f"{where}[]")
    elif isinstance(param.items, tuple) and param.items:
        # orchestrated arrays list their item fields; they build one object per element
        items = Shape(
            "object",
            None,
            None,
            None,
            None,
            False,
            tuple(
                (p.name or f"field{i}", compile_shape(p, f"{where}[].{p.name}"))
                for i, p in enumerate(param.items)
            ),
            None,
            f"{where}[]",
        )
    return Shape(
        kind=param.type,
        name=param.name,
        path=compile_jsonpath(mapping) if mapping is not None else None,
        template=template,
        const=param.const,
        has_const=param.has_const,
        properties=properties,
        items=items,
        where=where,
    )


@dataclass(frozen=True, slots=True)
class OutputShaper:
    shapes: tuple[Shape, ...]
    named: bool
    #: the kind expected when shaping returns the payload unchanged (no outputs: "any"), else None;
    #: ``[{type: object, mapping: $.}]`` is the common case: it lets a call skip decoding and re-encoding
    identity: str | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", _identity(self.shapes, self.named))

    @property
    def passthrough(self) -> bool:
        return not self.shapes

    def apply(self, payload: Any, scopes: Sequence[Mapping[str, Any]], operation: str) -> Any:
        if not self.shapes:
            return payload
        if self.named:
            return {s.name: _none(s.apply(payload, scopes, operation)) for s in self.shapes}
        result: Any = None
        for shape in self.shapes:
            result = shape.apply(payload, scopes, operation)
            if result is not None and result is not MISSING:
                return result
        return None


def _identity(shapes: tuple[Shape, ...], named: bool) -> str | None:
    if not shapes:
        return "any"
    if len(shapes) != 1 or named:
        return None
    shape = shapes[0]
    if (
        shape.template is not None
        or shape.has_const
        or shape.properties is not None
        or shape.items is not None
        or shape.path is None
        or shape.path.keys != ()
    ):
        return None
    return shape.kind if shape.kind in ("object", "array") else "any"


def compile_outputs(params: Sequence[OutputParameter], where: str = "outputParameters") -> OutputShaper:
    shapes = tuple(compile_shape(p, f"{where}[{i}]") for i, p in enumerate(params))
    named = len(shapes) > 1 and all(s.name for s in shapes)
    return OutputShaper(shapes, named)


def mock_outputs(params: Sequence[OutputParameter]) -> bool:
    """True when outputs can answer without an upstream: every leaf has a static value or a const."""

    def leaf_ok(p: OutputParameter) -> bool:
        if p.properties:
            return all(leaf_ok(c) for c in p.properties.values())
        if isinstance(p.items, OutputParameter):
            return leaf_ok(p.items)
        return p.has_const or (p.value is not None and not p.value.startswith("$"))

    return bool(params) and all(leaf_ok(p) for p in params)


def compile_mock(params: Sequence[OutputParameter]) -> OutputShaper:
    """Mock outputs are named (``{name, type, value}``); they build an object of their names."""
    shapes = tuple(compile_shape(p, f"outputParameters[{i}]") for i, p in enumerate(params))
    named = all(s.name for s in shapes)
    return OutputShaper(shapes, named or len(shapes) > 1)
