"""The project's own JSON Schema for Naftiko capability documents (spec 1.0.0-alpha2), and precise issues.

`naftiko-1.0.0-alpha2.schema.json` (beside this module) accepts exactly the documents the upstream alpha2
schema accepts (plus the oauth2 ``clientId``/``clientSecret`` extension), but it is written as discriminated
``if``/``then`` unions (on ``type``, or on the presence of a key) instead of bare ``oneOf``/``anyOf``.
Every failure therefore surfaces as a *leaf* error at the node that is wrong, which :func:`schema_issues`
turns into one human-readable :class:`SchemaIssue` per node.

Subschemas may carry an ``x-messages`` annotation: ``{keyword: text}`` (or, for ``required``,
``{keyword: {missing_key: text}}``) gives the wording used when that keyword fails there; ``{value}`` in the
text is replaced by the offending value.

The schema only knows the version string ``1.0.0-alpha2``; callers that accept alpha1/alpha3 documents
substitute the version before validating. `ikanos-1.0.0-beta5.schema.json` is its twin for the Ikanos
dialect, written the same way (:func:`beta_schema_issues`; callers substitute ``1.0.0-beta5`` likewise).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .findings import format_path

__all__ = [
    "BETA_SCHEMA_FILENAME",
    "SCHEMA_FILENAME",
    "SCHEMA_ID",
    "SCHEMA_PATH",
    "SchemaIssue",
    "beta_schema_issues",
    "format_path",
    "get_validator",
    "is_valid",
    "load_schema",
    "schema_issues",
]

SCHEMA_FILENAME: Final = "naftiko-1.0.0-alpha2.schema.json"
#: Where the schema lives in a source checkout / regular install (it is read through importlib.resources).
SCHEMA_PATH: Final = Path(__file__).resolve().with_name(SCHEMA_FILENAME)
SCHEMA_ID: Final = "https://naftiko-runtime.dev/schemas/1.0.0-alpha2/capability.schema.json"
BETA_SCHEMA_FILENAME: Final = "ikanos-1.0.0-beta5.schema.json"

JsonPath = tuple[str | int, ...]

_MAX_SHOWN = 60


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema problem at one node of the document.

    ``path`` is the JSON path of the offending node (for a missing key: the object that lacks it; for unknown
    keys: the object that has them). ``keyword`` is the JSON Schema keyword that failed first at that node
    (``required``, ``additionalProperties``, ``enum``, ...). For unknown-key issues ``key`` is the first
    unexpected key in document order (and for a bad map key, that key), so a caller can point at its line.
    """

    path: JsonPath
    message: str
    keyword: str
    key: str | None = None

    @property
    def location(self) -> str:
        """The path rendered as ``$.capability.exposes[0]``."""
        return format_path(self.path)

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


# --------------------------------------------------------------------------- loading


@cache
def load_schema(filename: str = SCHEMA_FILENAME) -> dict[str, Any]:
    """The schema as a dict (cached and shared: do not mutate it)."""
    text = (resources.files("naftiko_runtime") / "spec" / filename).read_text(encoding="utf-8")
    schema = json.loads(text)
    if not isinstance(schema, dict):  # pragma: no cover - the packaged file is an object
        raise TypeError(f"{filename} does not hold a JSON object")
    return schema


@cache
def get_validator(filename: str = SCHEMA_FILENAME) -> Draft202012Validator:
    """A compiled Draft 2020-12 validator for :func:`load_schema` (cached; format assertions off)."""
    # the packaged schema is checked against the metaschema by the test-suite, not at every start-up
    return Draft202012Validator(load_schema(filename))


def is_valid(document: object) -> bool:
    """True when the document passes the schema."""
    return bool(get_validator().is_valid(document))


def _order_key(document: object, path: JsonPath) -> tuple[int, ...]:
    """Position of a path in document order (mapping keys in their insertion order, list items by index)."""
    key: list[int] = []
    node: object = document
    for part in path:
        if isinstance(node, Mapping):
            keys = list(node)
            index = keys.index(part) if part in keys else len(keys)
            key.append(index)
            node = node.get(part)
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(part, int):
            key.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            key.append(0)
            node = None
    return tuple(key)


def _node_at(document: object, path: JsonPath) -> object:
    node: object = document
    for part in path:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(part, int):
            node = node[part] if 0 <= part < len(node) else None
        else:
            return None
    return node


# --------------------------------------------------------------------------- issues


def schema_issues(document: object) -> list[SchemaIssue]:
    """Every schema problem of a document: one issue per offending node, in document order."""
    return _collect_issues(get_validator(), document)


def beta_schema_issues(document: object) -> list[SchemaIssue]:
    """The same for an Ikanos-dialect document (``ikanos: 1.0.0-beta5``)."""
    return _collect_issues(get_validator(BETA_SCHEMA_FILENAME), document)


def _collect_issues(validator: Draft202012Validator, document: object) -> list[SchemaIssue]:
    groups: dict[JsonPath, list[ValidationError]] = {}
    for error in validator.iter_errors(document):
        for leaf in _leaves(error):
            groups.setdefault(tuple(leaf.absolute_path), []).append(leaf)
    issues = [_issue_for(document, path, errors) for path, errors in groups.items()]
    issues.sort(key=lambda issue: _order_key(document, issue.path))
    return issues


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The error itself, or (for a failed anyOf/oneOf) the leaf errors of the branch that matches best."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        for branch_error in _best_branch(error):
            yield from _leaves(branch_error)
    else:
        yield error


def _best_branch(error: ValidationError) -> list[ValidationError]:
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0] if sub.relative_schema_path else 0
        branches.setdefault(index, []).append(sub)
    base = len(error.absolute_path)

    def score(errors: list[ValidationError]) -> tuple[int, int, int]:
        # A branch whose discriminator (the node's own type, or a const/enum/type on a direct child such as
        # `type: rest`) does not match is a poor explanation; among the rest prefer the deepest, then fewest.
        mismatches = sum(
            1
            for sub in errors
            if sub.validator in ("type", "const", "enum") and len(sub.absolute_path) - base <= 1
        )
        depth = max(len(sub.absolute_path) for sub in errors)
        return (mismatches, -depth, len(errors))

    return min(branches.values(), key=score)


def _issue_for(document: object, path: JsonPath, errors: list[ValidationError]) -> SchemaIssue:
    node = _node_at(document, path)
    parts: list[tuple[str, str]] = []  # (keyword, message) in display order
    key: str | None = None

    # 1. missing keys, merged into one sentence (custom wording from x-messages where the schema has it)
    missing: dict[str, str | None] = {}
    for error in errors:
        if error.validator != "required" or not isinstance(node, Mapping):
            continue
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        for name in wanted:
            if name not in node and missing.get(name) is None:
                missing[name] = _required_message(error, name)
    if missing:
        messages: list[str] = []
        for text in missing.values():
            if text is not None and text not in messages:
                messages.append(text)
        generic = [name for name, text in missing.items() if text is None]
        if generic:
            noun = "key" if len(generic) == 1 else "keys"
            messages.append(f"missing required {noun} {_quoted_list(generic)}")
        parts.append(("required", "; ".join(messages)))

    # 2. unknown keys, all of one object in one sentence
    extras: list[str] = []
    allowed: list[str] = []
    for error in errors:
        if error.validator not in ("additionalProperties", "unevaluatedProperties"):
            continue
        if not isinstance(node, Mapping) or not isinstance(error.schema, Mapping):
            continue
        props = error.schema.get("properties", {})
        patterns = list(error.schema.get("patternProperties", {}))
        for name in props:
            if name not in allowed:
                allowed.append(name)
        for name in node:
            if name in props or any(re.search(p, str(name)) for p in patterns):
                continue
            if name not in extras:
                extras.append(name)
    if extras:
        key = str(extras[0])
        noun = "key" if len(extras) == 1 else "keys"
        shown = sorted(str(name) for name in extras)
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        guesses = [(name, _closest(name, allowed)) for name in shown]
        named = [f"'{g}'" + (f" for '{n}'" if len(shown) > 1 else "") for n, g in guesses if g]
        guess = f": did you mean {', '.join(named)}?" if named else ""
        parts.append(("additionalProperties", f"unknown {noun} {_quoted_list(shown)}{guess}{hint}"))

    # 3. everything else, one sentence per distinct message
    for error in errors:
        if error.validator in ("required", "additionalProperties", "unevaluatedProperties"):
            continue
        keyword = error.validator if isinstance(error.validator, str) else "false"
        if _is_property_name_error(error, node):
            name = str(error.instance)
            key = key or name
            parts.append((keyword, f"key {_describe(error)}"))
        else:
            parts.append((keyword, _describe(error)))

    unique: list[tuple[str, str]] = []
    for part in parts:
        if part[1] not in [message for _, message in unique]:
            unique.append(part)
    if not unique:  # pragma: no cover - every error yields a part
        unique.append(("unknown", "is invalid"))
    return SchemaIssue(
        path=path,
        message="; ".join(message for _, message in unique),
        keyword=unique[0][0],
        key=key,
    )


def _required_message(error: ValidationError, name: str) -> str | None:
    template = _x_message(error.schema, "required")
    if isinstance(template, Mapping):
        template = template.get(name)
    return template if isinstance(template, str) else None


def _x_message(schema: object, keyword: str) -> object:
    if isinstance(schema, Mapping):
        messages = schema.get("x-messages")
        if isinstance(messages, Mapping):
            return messages.get(keyword)
    return None


def _is_property_name_error(error: ValidationError, node: object) -> bool:
    return (
        "propertyNames" in error.absolute_schema_path
        and isinstance(node, Mapping)
        and isinstance(error.instance, str)
        and error.instance in node
    )


def _describe(error: ValidationError) -> str:
    """A human sentence for one non-structural error."""
    keyword = error.validator
    value = error.instance
    template = _x_message(error.schema, keyword) if isinstance(keyword, str) else None
    if isinstance(template, str):
        return template.replace("{value}", _show(value))
    limit = error.validator_value
    if keyword is None or keyword == "not":
        return f"{_show(value)} is not allowed here"
    if keyword == "type":
        wanted = limit if isinstance(limit, list) else [limit]
        return f"expected {_alternatives([_article(str(t)) for t in wanted])}, got {_kind(value)}"
    if keyword == "enum" and isinstance(limit, list):
        return f"{_show(value)} is not one of {', '.join(_plain(v) for v in limit)}"
    if keyword == "const":
        return f"{_show(value)} is not {_show(limit)}"
    if keyword == "pattern":
        return f"{_show(value)} does not match the pattern {limit}"
    if keyword == "maximum":
        return f"{_show(value)} is greater than the maximum {_show(limit)}"
    if keyword == "minimum":
        return f"{_show(value)} is less than the minimum {_show(limit)}"
    if keyword == "exclusiveMaximum":
        return f"{_show(value)} must be less than {_show(limit)}"
    if keyword == "exclusiveMinimum":
        return f"{_show(value)} must be greater than {_show(limit)}"
    if keyword == "minItems":
        return "must not be empty" if limit == 1 else f"must have at least {limit} items"
    if keyword == "maxItems":
        return f"must have at most {limit} items"
    if keyword == "minLength":
        return "must not be empty" if limit == 1 else f"must be at least {limit} characters long"
    if keyword == "maxLength" and isinstance(value, str):
        return f"is {len(value)} characters long, more than the maximum {limit}"
    if keyword == "oneOf" and not error.context:
        return "matches more than one of the allowed shapes"
    return error.message


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 3] + "..."
        return repr(text)
    try:
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    except (TypeError, ValueError):  # pragma: no cover - YAML data is JSON-like
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _plain(value: object) -> str:
    return value if isinstance(value, str) else _show(value)


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[:1] in "aeiou" else f"a {type_name}"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {_show(value)}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "an array"
    return type(value).__name__


def _alternatives(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _quoted_list(names: Iterable[object]) -> str:
    return ", ".join(repr(str(name)) for name in names)


def _closest(name: str, allowed: list[str]) -> str | None:
    """The allowed key a typo most likely meant (case and separators ignored first)."""
    folded = {re.sub(r"[-_ ]", "", a.lower()): a for a in allowed}
    exact = folded.get(re.sub(r"[-_ ]", "", name.lower()))
    if exact is not None:
        return exact
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.75)
    return close[0] if close else None
