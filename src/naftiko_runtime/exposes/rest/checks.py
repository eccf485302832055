"""What a REST request is checked for beyond what the input readers check, compiled at load and made
only for the operations that need it: the ``enum`` and array ``items`` of declared inputs
(:class:`Constraints`, one compiled schema check), and what an operation without declared inputs must
still be given because what it calls requires it (:class:`Implicit`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import InvalidInputError
from ..schema import Check, Validator, compile_check, format_where, violation
from .inputs import Input


class Verify(Protocol):
    def verify(self, values: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidInputError` naming the input at fault, or return."""


#: the keywords the readers do not check themselves
_CONSTRAINTS = ("enum", "items", "const")


@dataclass(frozen=True, slots=True)
class Constraints:
    """What the readers leave unchecked (an ``enum``, array items), compiled once for the inputs."""

    check: Check
    validator: Validator
    inputs: Mapping[str, Input]

    def verify(self, values: Mapping[str, Any]) -> None:
        if self.check(values):
            return
        found = violation(self.validator, values)
        if found is None:
            return  # the two implementations differ (e.g. 1.0 as an integer): the interpreter rules
        p = self.inputs[str(found.member)]
        raise p.invalid(found.message, format_where(found.where) if len(found.where) > 1 else "")


def compile_constraints(
    inputs: Sequence[Input], schemas: Mapping[str, Mapping[str, Any]]
) -> Constraints | None:
    """The compiled check of the inputs' constraints, or None when the readers check everything."""
    properties = {
        name: {k: v for k, v in schema.items() if k in (*_CONSTRAINTS, "type")}
        for name, schema in schemas.items()
        if any(schema.get(k) for k in _CONSTRAINTS)
    }
    if not properties:
        return None
    schema = {"type": "object", "properties": properties}
    return Constraints(
        compile_check(schema),
        Validator(schema),
        {p.name: p for p in inputs if p.name in properties},
    )


#: a declared JSON type -> how to say it, and whether a parsed JSON value is of it
_JSON_KINDS: Mapping[str, tuple[str, Callable[[Any], bool]]] = {
    "object": ("a JSON object", lambda v: isinstance(v, dict)),
    "array": ("an array", lambda v: isinstance(v, list)),
    "string": ("a string", lambda v: isinstance(v, str)),
    "boolean": ("a boolean", lambda v: isinstance(v, bool)),
    "number": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "integer": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
}


@dataclass(frozen=True, slots=True)
class Implicit:
    """An operation without declared inputs: the inputs what it calls requires, each with where the
    request carries it (``query``, ``header``, ``body``: the JSON body is the ``body`` input), and the
    JSON type the body must have when the callee declares one."""

    required: tuple[tuple[str, str], ...]
    body_type: str | None = None

    def verify(self, values: Mapping[str, Any]) -> None:
        for name, where in self.required:
            if values.get(name) in (None, ""):
                if where == "body":
                    raise InvalidInputError(
                        "the request body is required", parameter=name, location=where, json_path="$"
                    )
                raise InvalidInputError(
                    f"{where} parameter '{name}' is required", parameter=name, location=where
                )
        kind = _JSON_KINDS.get(self.body_type or "")
        body = values.get("body")
        if kind is not None and body is not None and not kind[1](body):
            raise InvalidInputError(
                f"the request body must be {kind[0]}", parameter="body", location="body", json_path="$"
            )


def compile_implicit(params: Sequence[tuple[str, str, Mapping[str, Any], bool]]) -> Implicit | None:
    """The check of an operation without declared inputs, from its derived (name, in, schema, required)
    parameters; None when it requires nothing."""
    required = tuple((name, where) for name, where, _, needed in params if needed)
    body_type = next((s.get("type") for name, where, s, _ in params if where == "body"), None)
    if not required and body_type is None:
        return None
    return Implicit(required, body_type if isinstance(body_type, str) else None)
