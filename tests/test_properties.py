"""Property-based tests (hypothesis): whatever a caller sends, it lands where it was meant to, encoded for
that place, and a bound secret never survives redaction in any form it takes on the wire. A fuzz run of
the loader over mutated capability files: findings, never a traceback."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from naftiko_runtime.binds import Redactor, wire_forms
from naftiko_runtime.consumes.placement import PLACEMENT, Outgoing, encode_pair
from naftiko_runtime.errors import InvalidInputError, RequestError
from naftiko_runtime.expressions import MISSING, compile_jsonpath, compile_path, compile_template
from naftiko_runtime.spec.loader import load_text

from .support import ROOT

values = st.text(min_size=1, max_size=40)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)


@given(values)
def test_a_path_value_is_exactly_one_segment_and_decodes_back(value: str) -> None:
    path = compile_path("/runs/{runId}/trace").expand({"runId": value})
    segments = path.split("/")
    assert len(segments) == 4 and segments[1] == "runs" and segments[3] == "trace"
    assert "?" not in path and "#" not in path
    assert unquote(segments[2]) == value
    assert segments[2] not in (".", "..")


@given(names, values)
def test_a_query_pair_decodes_to_the_name_and_value_sent(name: str, value: str) -> None:
    pair = encode_pair(name, value)
    assert "&" not in pair and pair.count("=") == 1
    assert parse_qsl(pair, keep_blank_values=True) == [(name, value)]


@given(names, values)
def test_a_header_value_lands_whole_or_is_refused_for_a_line_break(name: str, value: str) -> None:
    out = Outgoing({}, CIMultiDict())
    breaks = any(c in value for c in "\r\n\0")
    try:
        PLACEMENT["header"].place(out, name, value)
    except InvalidInputError as exc:
        assert breaks and exc.parameter == name
    else:
        assert not breaks and out.headers.getall(name) == [value]


@given(names, values)
def test_a_cookie_value_cannot_end_the_cookie(name: str, value: str) -> None:
    out = Outgoing({}, CIMultiDict())
    PLACEMENT["cookie"].place(out, name, value)
    (cookie,) = out.cookies
    assert ";" not in cookie and "\r" not in cookie and unquote(cookie.split("=", 1)[1]) == value


@given(names, st.one_of(values, st.integers(), st.booleans()))
def test_a_template_substitutes_values_verbatim(name: str, value: Any) -> None:
    rendered = compile_template("<{{" + name + "}}>").render(({name: value},))
    expected = value if isinstance(value, str) else json.dumps(value)
    assert rendered == f"<{expected}>"


@given(names)
def test_a_template_naming_a_missing_value_is_a_request_error(name: str) -> None:
    with pytest.raises(RequestError):
        compile_template("{{" + name + "}}").render(({},))


keys = st.text(
    st.characters(whitelist_categories=("L", "N"), whitelist_characters=" -_"), min_size=1, max_size=12
)


@given(keys, st.one_of(st.integers(), values, st.none()))
def test_a_jsonpath_mapping_finds_any_key(key: str, value: Any) -> None:
    key = key.strip() or "k"
    path = compile_jsonpath(f"$.{key}")
    assert path.find({key: value, "other": 1}) == value
    assert path.find({"other": 1}) is MISSING


secrets = st.text(
    st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), min_size=4, max_size=30
)


@given(secrets, st.sampled_from(range(10)), st.text(st.sampled_from(" ,:{}[]\"'"), max_size=3))
def test_redaction_removes_a_secret_in_every_wire_form(secret: str, pick: int, edge: str) -> None:
    forms = sorted(wire_forms(secret))
    form = forms[pick % len(forms)]
    text = f"before{edge}{form}{edge}after"
    redacted = Redactor([secret])(text)
    assert form not in redacted and "***" in redacted


def test_redaction_covers_the_encodings_that_leaked_before() -> None:
    key = "k/e+y=v&a l"
    redact = Redactor([key])
    for text in ("k%2Fe%2By%3Dv%26a%20l", "k%2Fe+y=v&a%20l", "k%2Fe%2By%3Dv%26a+l", '"k/e+y=v&a l"'):
        assert key not in redact(text) and redact(text).count("***") == 1, text


# --- loader fuzz -------------------------------------------------------------------------------------------

CAPABILITY = (ROOT / "capabilities" / "durable-workflow.yaml").read_text(encoding="utf-8")
LINES = CAPABILITY.splitlines(keepends=True)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "swap", "char", "indent", "value"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "char" and lines[i]:
            k = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:k] + draw(st.sampled_from(list(":-[]{}&*!|>'\"#%@`\t"))) + lines[i][k + 1 :]
        elif action == "indent":
            lines[i] = " " + lines[i]
        elif action == "value" and ":" in lines[i]:
            head = lines[i].split(":", 1)[0]
            lines[i] = (
                head
                + ": "
                + draw(st.sampled_from(["", "null", "[]", "{}", "1", "-1", "true", "x" * 300]))
                + "\n"
            )
        if not lines:
            lines = ["\n"]
    return "".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_loader_answers_mutated_files_with_findings_never_a_traceback(text: str) -> None:
    result = load_text(text, "fuzz.yaml")
    assert result.ok or result.errors()
    for finding in result.findings:
        line = finding.format()
        assert line.startswith("fuzz.yaml:") and "Traceback" not in line
