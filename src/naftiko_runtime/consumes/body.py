"""Request bodies: one builder per body kind, compiled once at load.

A row of :data:`BODY` turns an operation's ``body.data`` into a :data:`BodyBuilder` that renders it for
one call and returns the payload and its media type. Values substituted into a template body are encoded
for where they land: XML-escaped in ``xml``, form-encoded in ``formUrlEncoded``, JSON-encoded in
``json`` (inside a string literal as string content; elsewhere as one whole JSON value), and as literal
content inside quotes or IRIs in ``sparql``. ``raw`` is the spec's plain string body: JSON when it starts
with ``{`` or ``[``, else text. Structured ``data`` is rendered leaf by leaf and serialised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus, urlencode
from xml.sax.saxutils import escape as xml_escape

from ..errors import TemplateError
from ..expressions import MISSING, Template, compile_template, dump_json, lookup, to_text
from .placement import Scopes

#: ``build(scopes, what) -> (payload, media type or None)``; ``what`` names the body in messages
BodyBuilder = Callable[[Scopes, str], tuple[Any, str | None]]
Encode = Callable[[Any], str]

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


def json_bytes(value: Any) -> bytes:
    return dump_json(value).encode("utf-8")


# --- templates with encoded values ---------------------------------------------------------------------


class EncodedTemplate:
    """A template whose every substituted value goes through the encoder chosen for its slot."""

    __slots__ = ("encoders", "template")

    def __init__(self, template: Template, encoders: Sequence[Encode]) -> None:
        self.template = template
        self.encoders = tuple(encoders)

    def render(self, scopes: Scopes, what: str) -> str:
        parts = self.template.parts
        out = [parts[0]]
        for i, encode in enumerate(self.encoders):
            name = parts[2 * i + 1]
            value = lookup(scopes, name)
            if value is MISSING or value is None:
                raise TemplateError(f"{what} needs a value for '{name}', and none was given", name=name)
            out.append(encode(value))
            out.append(parts[2 * i + 2])
        return "".join(out)


def _quote_states(literals: Sequence[str], opening: str, closing: Mapping[str, str]) -> list[str | None]:
    """For each slot between literals: the delimiter it sits inside (a quote or ``<``), or None."""
    states: list[str | None] = []
    inside: str | None = None
    for text in literals[:-1]:
        escaped = False
        for char in text:
            if inside is None:
                if char in opening:
                    inside = char
            elif escaped:
                escaped = False
            elif char == "\\" and inside != "<":
                escaped = True
            elif char == closing[inside]:
                inside = None
        states.append(inside)
    return states


def _json_in_string(value: Any) -> str:
    return json.dumps(to_text(value), ensure_ascii=False)[1:-1]


def _json_whole(value: Any) -> str:
    """One complete JSON value: a string that parses as JSON keeps its meaning, any other is quoted."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_slots(template: Template) -> list[Encode]:
    states = _quote_states(template.parts[0::2], '"', {'"': '"'})
    return [_json_in_string if state else _json_whole for state in states]


_SPARQL_PLAIN = re.compile(r"^[A-Za-z0-9_:.+\-]+$")
_SPARQL_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _sparql_literal(value: Any) -> str:
    return to_text(value).translate(_SPARQL_ESCAPES)


def _sparql_iri(value: Any) -> str:
    return quote(to_text(value), safe=":/?#[]@!$&'()*+,;=%-._~")


def _sparql_term(value: Any) -> str:
    """Outside quotes: a name or number as it is, anything else as a quoted literal."""
    text = to_text(value)
    return text if _SPARQL_PLAIN.match(text) else '"' + _sparql_literal(text) + '"'


def _sparql_slots(template: Template) -> list[Encode]:
    states = _quote_states(template.parts[0::2], "\"'<", {'"': '"', "'": "'", "<": ">"})
    table: dict[str | None, Encode] = {None: _sparql_term, "<": _sparql_iri, '"': _sparql_literal}
    return [table.get(state, _sparql_literal) for state in states]


def _same(encode: Encode) -> Callable[[Template], list[Encode]]:
    return lambda template: [encode] * len(template.names)


def _xml_value(value: Any) -> str:
    return xml_escape(to_text(value), {'"': "&quot;", "'": "&apos;"})


def _form_value(value: Any) -> str:
    return quote_plus(to_text(value))


def _template_body(
    data: str, slots: Callable[[Template], list[Encode]], media: str | Callable[[str], str]
) -> BodyBuilder:
    compiled = compile_template(data)
    template = EncodedTemplate(compiled, slots(compiled))

    def build(scopes: Scopes, what: str) -> tuple[Any, str | None]:
        text = template.render(scopes, what)
        return text.encode("utf-8"), media if isinstance(media, str) else media(text)

    return build


# --- structured data -----------------------------------------------------------------------------------

Render = Callable[[Scopes, str], Any]


def compile_data(data: Any) -> Render:
    """Structured data with templates in its strings; a string that is exactly ``{{x}}`` keeps x's type.

    An object member that is exactly ``{{x}}`` is left out when the call has no value for ``x``, as an
    optional parameter is, and so is an object member left empty that way: ``{fromStep: {stepId:
    "{{step}}"}}`` renders ``{}`` without ``step``. Any other template with a missing name is an error.
    """
    if isinstance(data, str) and "{{" in data:
        template = compile_template(data)
        return lambda scopes, what: template.value(scopes, what=what)
    if isinstance(data, Mapping):
        items = [(key, _compile_member(value)) for key, value in data.items()]

        def render_object(scopes: Scopes, what: str) -> dict[str, Any]:
            rendered = ((key, render(scopes, what)) for key, render in items)
            return {key: value for key, value in rendered if value is not MISSING}

        return render_object
    if isinstance(data, list):
        renders = [compile_data(value) for value in data]
        return lambda scopes, what: [render(scopes, what) for render in renders]
    return lambda scopes, what: data


def _compile_member(value: Any) -> Render:
    """One object member of structured data: MISSING when it is left out (see :func:`compile_data`)."""
    name = compile_template(value).single_name if isinstance(value, str) and "{{" in value else None
    if name is not None:

        def optional(scopes: Scopes, what: str) -> Any:
            found = lookup(scopes, name)
            return MISSING if found is None else found

        return optional
    render = compile_data(value)
    if not (isinstance(value, Mapping) and value):
        return render
    return lambda scopes, what: render(scopes, what) or MISSING


def _json_data(media: str) -> Callable[[Any], BodyBuilder]:
    def compile_(data: Any) -> BodyBuilder:
        render = compile_data(data)
        return lambda scopes, what: (json_bytes(render(scopes, what)), media)

    return compile_


def _form_data(data: Any) -> BodyBuilder:
    if not isinstance(data, Mapping):
        return _json_data("application/x-www-form-urlencoded")(data)
    pairs = [(str(key), compile_data(value)) for key, value in data.items()]

    def build(scopes: Scopes, what: str) -> tuple[Any, str | None]:
        encoded = urlencode([(key, to_text(render(scopes, what))) for key, render in pairs])
        return encoded.encode("ascii"), "application/x-www-form-urlencoded"

    return build


def _multipart_data(data: Any) -> BodyBuilder:
    if not isinstance(data, list):
        return _json_data(TEXT)(data)
    parts = [
        (str(p.get("name")), compile_data(p.get("value", "")), p.get("filename"), p.get("contentType"))
        for p in data
        if isinstance(p, Mapping)
    ]

    def build(scopes: Scopes, what: str) -> tuple[Any, str | None]:
        import aiohttp  # the form writer sets the boundary in the Content-Type itself

        form = aiohttp.FormData()
        for name, render, filename, content_type in parts:
            form.add_field(name, to_text(render(scopes, what)), filename=filename, content_type=content_type)
        return form, None

    return build


def _raw_media(text: str) -> str:
    return JSON if text.lstrip()[:1] in ("{", "[") else TEXT


def _raw(data: Any) -> BodyBuilder:
    """The spec's plain string body: JSON when it starts with ``{`` or ``[`` (then encoded as JSON)."""
    if not isinstance(data, str):
        return _json_data(JSON)(data)
    literal_head = compile_template(data).parts[0].lstrip()[:1]
    if literal_head in ("{", "["):
        return _template_body(data, _json_slots, JSON)
    return _template_body(data, _same(to_text), _raw_media)


def _kind(
    slots: Callable[[Template], list[Encode]], media: str, structured: Callable[[Any], BodyBuilder]
) -> Callable[[Any], BodyBuilder]:
    def compile_(data: Any) -> BodyBuilder:
        return _template_body(data, slots, media) if isinstance(data, str) else structured(data)

    return compile_


#: keyed by body kind: ``compile(data) -> BodyBuilder``
BODY: Mapping[str, Callable[[Any], BodyBuilder]] = {
    "raw": _raw,
    "json": _kind(_json_slots, JSON, _json_data(JSON)),
    "text": _kind(_same(to_text), TEXT, _json_data(TEXT)),
    "xml": _kind(_same(_xml_value), "application/xml", _json_data("application/xml")),
    "sparql": _kind(_sparql_slots, "application/sparql-query", _json_data("application/sparql-query")),
    "formUrlEncoded": _kind(_same(_form_value), "application/x-www-form-urlencoded", _form_data),
    "multipartForm": _kind(_same(to_text), TEXT, _multipart_data),
}


def params_body(values: Mapping[str, Any], single: bool) -> tuple[Any, str | None]:
    """The body made of ``in: body`` parameters: the value itself for one parameter, else an object."""
    if not values:
        return None, None
    payload = next(iter(values.values())) if single else dict(values)
    return json_bytes(payload), JSON


__all__ = ["BODY", "BodyBuilder", "EncodedTemplate", "compile_data", "json_bytes", "params_body"]
