"""Checking values against derived schemas: compiled once at load to Python code (fastjsonschema) for the
question every call asks, and worded by the jsonschema validator only when the answer is no (so a server
whose calls are all valid never loads jsonschema)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import fastjsonschema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


class Validator:
    """A schema's jsonschema validator, built the first time something fails its compiled check (the
    walk that words the problem): a server whose calls are all valid never loads jsonschema."""

    __slots__ = ("_validator", "schema")

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self._validator: Draft202012Validator | None = None

    @property
    def validator(self) -> Draft202012Validator:
        if self._validator is None:
            from jsonschema import Draft202012Validator

            self._validator = Draft202012Validator(self.schema)
        return self._validator

    def is_valid(self, instance: Any) -> bool:
        return bool(self.validator.is_valid(instance))


#: a compiled yes/no check of an instance against a schema
Check = Callable[[Any], bool]


def compile_check(schema: Mapping[str, Any]) -> Check:
    """The schema compiled to Python code once (fastjsonschema), for the question every call asks: is
    this valid? Its verdict "invalid" is confirmed by the jsonschema validator, which also words the
    problem, so a rejection never depends on where the two implementations differ (e.g. ``1.0`` as an
    integer)."""
    return _compiled_check(_canonical(schema))


# Tools of one adapter often share a schema (every tool taking one ``runId``, every output an object):
# each distinct schema is compiled once, keyed by its canonical text.


def _canonical(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


@cache
def _compiled_check(text: str) -> Check:
    schema = json.loads(text)
    if _NEWER_KEYWORDS & _keywords(schema):
        return Validator(schema).is_valid  # draft-07 code would ignore them
    try:
        validate = fastjsonschema.compile(schema, use_default=False, use_formats=False)
    except (fastjsonschema.JsonSchemaDefinitionException, ValueError, TypeError):
        # a construct it does not compile (e.g. a 2020-12-only keyword in declared items): interpret
        return Validator(schema).is_valid

    def check(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


#: 2019-09/2020-12 keywords a draft-07 compiler would silently ignore
_NEWER_KEYWORDS = frozenset(
    {"prefixItems", "$defs", "$dynamicRef", "$anchor", "dependentRequired", "dependentSchemas"}
    | {"unevaluatedProperties", "unevaluatedItems", "minContains", "maxContains", "$schema"}
)


def _keywords(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keywords(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keywords(v) for v in node))
    return set()


def schema_problem(validator: Validator, instance: Any, noun: str = "argument") -> str | None:
    """The most relevant violation of ``instance``, naming the ``noun`` and the rule; None when valid."""
    found = violation(validator, instance)
    return None if found is None else found.text(noun)


class Violation(NamedTuple):
    """The most relevant way an instance breaks a schema."""

    message: str
    #: where in the instance (empty: the instance itself, e.g. a required member it lacks)
    where: tuple[str | int, ...]
    #: how many other violations there are
    others: int
    #: the top-level member at fault: the first step of ``where``, or the required member that is missing
    member: str | None

    def text(self, noun: str) -> str:
        text = f"{noun} '{format_where(self.where)}': {self.message}" if self.where else self.message
        return text + (f" (and {self.others} more)" if self.others else "")


def violation(validator: Validator, instance: Any) -> Violation | None:
    """The most relevant violation of ``instance``; None when valid."""
    from jsonschema.exceptions import best_match

    errors = list(validator.validator.iter_errors(instance))
    if not errors:
        return None
    best = best_match(errors)
    if best.validator == "anyOf" and best.context:
        # "X or null" (a nullable output): say what X wants rather than "not valid under any schema"
        concrete = [e for e in best.context if e.schema != {"type": "null"}]
        best = best_match(concrete) if concrete else best
    where = tuple(best.absolute_path)
    member = str(where[0]) if where else None
    names, held = best.validator_value, best.instance
    if member is None and best.validator == "required" and isinstance(names, list) and isinstance(held, dict):
        member = next((str(n) for n in names if n not in held), None)
    return Violation(_clip(best.message, 200), where, len(errors) - 1, member)


def format_where(where: tuple[str | int, ...]) -> str:
    """``("data", "items", 0)`` as ``data.items[0]``."""
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "Check",
    "Validator",
    "Violation",
    "compile_check",
    "format_where",
    "schema_problem",
    "violation",
]
