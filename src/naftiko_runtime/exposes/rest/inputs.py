"""A REST operation's inputs: the declared ``inputParameters`` (resource level, then operation level),
read by ``in``, coerced to their ``type`` and checked for ``pattern`` and required-ness; or, for an
operation that declares none, its path variables, the query parameters and the JSON body (as ``body``).

Required-ness comes from the derivation the OpenAPI description shows (what the called function or
operation requires counts). The readers check presence, type and pattern (what they leave to check:
:mod:`.checks`). A rejection names the parameter, where it is read from and, in a JSON body, the JSONPath
of the fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ...errors import InvalidInputError
from ...expressions import MISSING, JsonPath, Template, compile_jsonpath, compile_template, to_text
from ...formats.json import loads
from ...spec import model as m
from ...spec.checks import Check


class _Bad(Exception):
    """A value that cannot be read as the declared type; ``args[0]`` says what was expected."""


_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _as_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return to_text(value)
    raise _Bad("a string")


def _as_integer(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        try:
            return int(value)
        except ValueError:  # longer than Python converts (4300 digits)
            raise _Bad("an integer of at most 4300 digits") from None
    raise _Bad("an integer")


def _as_number(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(text := value.strip()):
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    raise _Bad("a number")


def _as_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise _Bad("a boolean (true or false)")


def _as_json(kind: type, expected: str) -> Callable[[Any], Any]:
    opening = "[" if kind is list else "{"

    def coerce(value: Any) -> Any:
        if isinstance(value, str) and value.lstrip().startswith(opening):
            try:
                value = json.loads(value)
            except ValueError:
                if kind is not list:
                    raise _Bad(expected) from None
                # not JSON: a value of a comma-separated list that happens to start with "["
        if isinstance(value, kind):
            return value
        if kind is list and isinstance(value, str):
            return [part.strip() for part in value.split(",")] if value.strip() else []
        raise _Bad(expected)

    return coerce


#: declared ``type`` -> coercion of what the request carries
COERCE: Mapping[str, Callable[[Any], Any]] = {
    "string": _as_string,
    "integer": _as_integer,
    "number": _as_number,
    "boolean": _as_boolean,
    "array": _as_json(list, "an array"),
    "object": _as_json(dict, "a JSON object"),
}


@dataclass(frozen=True, slots=True)
class Input:
    name: str
    in_: str
    coerce: Callable[[Any], Any]
    required: bool
    pattern: re.Pattern[str] | None
    many: bool = False  # an array read from repeated query parameters or a comma-separated header
    jsonpath: JsonPath | None = None  # body: where the value is
    sole_body: bool = False  # body: the only body input takes the whole body when it has no field of its name
    static: Any = MISSING  # a `value` that is not a JSONPath overrides the request
    static_template: Template | None = None
    at: str | None = None  # body: the JSONPath of the value, for messages

    def invalid(self, why: str, below: str = "") -> InvalidInputError:
        """The 400 naming this input, where it is read from and (in a body) the JSONPath of the fault."""
        where = f" ({below}):" if below else ""
        return InvalidInputError(
            f"{self.in_} parameter '{self.name}'{where} {why}",
            parameter=self.name,
            location=self.in_,
            json_path=None if self.at is None else self.at + below.removeprefix(self.name),
        )


class Call:
    """What one request offers to the input readers."""

    __slots__ = ("request", "path", "body")

    def __init__(self, request: Request, path: dict[str, str], body: Any) -> None:
        self.request = request
        self.path = path
        self.body = body


def _read_path(call: Call, p: Input) -> Any:
    return call.path.get(p.name, MISSING)


def _read_query(call: Call, p: Input) -> Any:
    values = call.request.query_params.getlist(p.name)
    if not values:
        return MISSING
    return values if p.many and len(values) > 1 else values[0]


def _read_header(call: Call, p: Input) -> Any:
    value = call.request.headers.get(p.name)
    return MISSING if value is None else value


def _read_cookie(call: Call, p: Input) -> Any:
    return call.request.cookies.get(p.name, MISSING)


def _read_body(call: Call, p: Input) -> Any:
    body = call.body
    if body is MISSING:
        return MISSING
    if p.jsonpath is not None:
        return p.jsonpath.find(body)
    if isinstance(body, dict) and p.name in body:
        return body[p.name]
    return body if p.sole_body else MISSING


#: ``in`` -> how a request presents the value
READERS: Mapping[str, Callable[[Call, Input], Any]] = {
    "path": _read_path,
    "query": _read_query,
    "header": _read_header,
    "cookie": _read_cookie,
    "body": _read_body,
}


def _pattern(p: m.ExposedInputParameter) -> re.Pattern[str] | None:
    """The compiled pattern; one Python cannot compile is reported at load (:func:`check_patterns`)."""
    if not p.pattern:
        return None
    try:
        return re.compile(p.pattern)
    except re.error:
        return None


def check_patterns(params: Sequence[m.ExposedInputParameter]) -> Iterator[Check]:
    for p in params:
        if p.pattern:
            try:
                re.compile(p.pattern)
            except re.error as exc:
                yield (
                    "warning",
                    (*p.path, "pattern"),
                    f"{p.in_} parameter '{p.name}': pattern {p.pattern!r} is not a regular expression "
                    f"this runtime can compile ({exc}); it is not checked",
                    False,
                )


def member_path(name: str) -> str:
    """The JSONPath of a body member: ``$.name``, or ``$['odd name']``."""
    return f"$.{name}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f"$[{json.dumps(name)}]"


def compile_input(
    p: m.ExposedInputParameter,
    sole_body: bool,
    environ: Mapping[str, str],
    required: bool | None = None,
) -> Input:
    """One declared input, compiled; ``required`` as derived (else as the parameter says)."""
    static: Any = MISSING
    static_template = None
    jsonpath = None
    if p.in_ == "environment":
        static = environ.get(p.name, MISSING)
    elif p.value is not None and p.in_ == "body" and p.value.startswith("$"):
        jsonpath = compile_jsonpath(p.value)
    elif p.value is not None and not p.value.startswith("$"):
        template = compile_template(p.value)
        if template.is_constant:
            static = template.parts[0]
        else:
            static_template = template
    at = None
    if p.in_ == "body":
        at = p.value if jsonpath is not None and p.value is not None else member_path(p.name)
    return Input(
        name=p.name,
        in_=p.in_,
        coerce=COERCE.get(p.type, _as_string),
        required=(p.in_ == "path" or p.required is True) if required is None else required,
        pattern=_pattern(p),
        many=p.type == "array",
        jsonpath=jsonpath,
        sole_body=sole_body,
        static=static,
        static_template=static_template,
        at=at,
    )


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return MISSING
    try:
        return loads(raw)
    except RecursionError:
        why = "the request body nests JSON deeper than this server reads"
        raise InvalidInputError(why, location="body") from None
    except ValueError as exc:
        why = " (a number has more than 4300 digits)" if "digits" in str(exc) else ""
        raise InvalidInputError(f"the request body is not valid JSON{why}", location="body") from None


def implicit_inputs(
    request: Request, path: dict[str, str], body: Any, headers: Sequence[str] = ()
) -> dict[str, Any]:
    """An operation without declared inputs: the ``headers`` the called operation sends on (read from
    same-named request headers), the query parameters, the body (as ``body``), the path variables."""
    inputs: dict[str, Any] = {}
    for name in headers:
        value = request.headers.get(name)
        if value is not None:
            inputs[name] = value
    pairs = request.query_params.multi_items() if request.scope["query_string"] else ()
    for key, value in pairs:
        seen = inputs.get(key)
        if seen is None:
            inputs[key] = value
        elif isinstance(seen, list):
            seen.append(value)
        else:
            inputs[key] = [seen, value]
    if body is not MISSING:
        inputs["body"] = body
    inputs.update(path)
    return inputs


def declared_inputs(
    declared: Sequence[Input], call: Call, bind_scopes: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The declared inputs read from the request, or :class:`InvalidInputError` naming the one at fault."""
    inputs: dict[str, Any] = dict(call.path)  # undeclared path variables are inputs too
    for p in declared:
        if p.static is not MISSING:
            value = p.static
        elif p.static_template is not None:
            value = p.static_template.value((*bind_scopes, inputs), what=f"{p.in_} parameter '{p.name}'")
        else:
            value = READERS[p.in_](call, p)
        if value is MISSING or value is None or value == "":
            if p.required:
                raise p.invalid("is required")
            inputs.pop(p.name, None)
            continue
        if p.pattern is not None and isinstance(value, (str, int, float)):
            if not p.pattern.search(to_text(value)):
                raise p.invalid(f"does not match the pattern {p.pattern.pattern}")
        try:
            inputs[p.name] = p.coerce(value)
        except _Bad as bad:
            raise p.invalid(f"must be {bad.args[0]}") from None
    return inputs
