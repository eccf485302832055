"""Templates, URL path templates and JSONPaths."""

from __future__ import annotations

import pytest

from naftiko_runtime.errors import TemplateError
from naftiko_runtime.expressions import (
    MISSING,
    ExpressionError,
    compile_jsonpath,
    compile_path,
    compile_template,
    join_url,
)


def test_templates_do_not_escape_html_and_render_non_scalars_as_json() -> None:
    t = compile_template("a={{a}} b={{ b }} c={{c}} d={{d}} e={{e}}")
    out = t.render([{"a": "x&<y>", "b": {"k": [1, 2]}, "c": True, "d": 1.5, "e": ["é"]}])
    assert out == 'a=x&<y> b={"k":[1,2]} c=true d=1.5 e=["é"]'


def test_dotted_names_walk_objects_and_whole_dotted_keys_win() -> None:
    scopes = [{"env.TOKEN": "flat"}, {"env": {"TOKEN": "nested", "OTHER": "o"}}]
    assert compile_template("{{env.TOKEN}}").render(scopes) == "flat"
    assert compile_template("{{env.OTHER}}").render(scopes) == "o"
    assert compile_template("{{items.1}}").render([{"items": ["a", "b"]}]) == "b"


def test_first_scope_wins() -> None:
    assert compile_template("{{k}}").render([{"k": "bind"}, {"k": "caller"}]) == "bind"


def test_missing_name_is_an_error_naming_it() -> None:
    with pytest.raises(TemplateError) as info:
        compile_template("Bearer {{env.TOKEN}}").render([{"env": {}}], what="bearer token")
    assert info.value.name == "env.TOKEN"
    assert str(info.value) == "bearer token needs a value for 'env.TOKEN', and none was given"


def test_single_name_template_keeps_the_value_type() -> None:
    assert compile_template("{{body}}").value([{"body": {"a": 1}}]) == {"a": 1}
    assert compile_template("x{{body}}").value([{"body": {"a": 1}}]) == 'x{"a":1}'
    assert compile_template("plain").is_constant


@pytest.mark.parametrize("bad", ["{{#section}}x{{/section}}", "{{> partial}}", "{{a b}}"])
def test_unsupported_tags_fail_to_compile(bad: str) -> None:
    with pytest.raises(ExpressionError):
        compile_template(bad)


def test_triple_braces_are_plain_substitution() -> None:
    assert compile_template("{{{x}}}").render([{"x": "<b>"}]) == "<b>"


def test_path_templates_accept_both_placeholder_forms_and_encode_one_segment() -> None:
    path = compile_path("/runs/{runId}/steps/{{ step }}")
    assert path.names == ("runId", "step")
    assert (
        path.expand({"runId": "../../v1/admin", "step": "a%2Fb"})
        == "/runs/..%2F..%2Fv1%2Fadmin/steps/a%252Fb"
    )
    assert path.expand({"runId": "..", "step": "."}) == "/runs/%2E%2E/steps/%2E"
    assert path.expand({"runId": "a b?c#d", "step": 7}) == "/runs/a%20b%3Fc%23d/steps/7"


def test_path_template_missing_or_empty_value_is_an_error() -> None:
    path = compile_path("/runs/{runId}")
    for values in ({}, {"runId": ""}, {"runId": None}):
        with pytest.raises(TemplateError, match="path parameter 'runId' has no value"):
            path.expand(values)


@pytest.mark.parametrize(
    ("base", "path", "joined"),
    [
        ("http://h", "/a", "http://h/a"),
        ("http://h/", "/a", "http://h/a"),
        ("http://h/v1", "a", "http://h/v1/a"),
        ("http://h/v1/", "a", "http://h/v1/a"),
        ("http://h", "", "http://h"),
    ],
)
def test_join_url_whatever_the_slashes(base: str, path: str, joined: str) -> None:
    assert join_url(base, path) == joined


DOC = {"id": "r1", "a-b": {"c d": 5}, "items": [{"id": 1}, {"id": 2, "tag": "x"}], "n": None}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DOC),
        ("$.", DOC),
        ("$.id", "r1"),
        ("$.a-b", {"c d": 5}),
        ("$.a-b.c d", 5),
        ("$['a-b']['c d']", 5),
        ("$.items[1].tag", "x"),
        ("$.items[-1].id", 2),
        ("$.items[*].id", [1, 2]),
        ("$..id", ["r1", 1, 2]),
        ("$.items[?(@.id == 2)].tag", ["x"]),
        ("$.n", None),
    ],
)
def test_jsonpath_forms_real_files_use(path: str, expected: object) -> None:
    found = compile_jsonpath(path).find(DOC)
    if isinstance(expected, list) and path.startswith("$.."):
        assert sorted(map(str, found)) == sorted(map(str, expected))
    else:
        assert found == expected


def test_jsonpath_missing_is_missing_not_none() -> None:
    assert compile_jsonpath("$.nope.deeper").find(DOC) is MISSING
    assert compile_jsonpath("$.items[9]").find(DOC) is MISSING
    assert compile_jsonpath("$.items[*].nope").find(DOC) == []


def test_simple_paths_are_compiled_to_key_tuples() -> None:
    assert compile_jsonpath("$.a.b[0]['c d']").keys == ("a", "b", 0, "c d")
    assert compile_jsonpath("$.items[*]").keys is None


@pytest.mark.parametrize("bad", ["items", "$.[oops", "$.a[?(@.x ==]"])
def test_bad_jsonpaths_fail_to_compile(bad: str) -> None:
    with pytest.raises(ExpressionError):
        compile_jsonpath(bad)
