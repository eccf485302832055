"""Loading: YAML positions, versions, builder errors, cross-reference checks, imports, findings format."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from naftiko_runtime.errors import SpecError
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file, load_text

from .support import requires_shared, seed_capability_text

MINIMAL = """\
naftiko: 1.0.0-alpha2
info:
  label: Demo
  description: A small capability.
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.example
    resources:
    - name: items
      path: /items/{{id}}
      operations:
      - name: get-item
        method: GET
  exposes:
  - type: rest
    namespace: demo
    port: 8080
    resources:
    - path: /items/{id}
      operations:
      - method: GET
        call: api.get-item
"""


def load(text: str) -> object:
    return load_text(textwrap.dedent(text), "cap.yaml")


def messages(text: str, severity: str = "error") -> list[str]:
    result = load_text(text, "cap.yaml")
    return [f.format() for f in result.findings if f.severity == severity]


def test_minimal_document_builds_the_typed_model() -> None:
    result = load_text(MINIMAL, "cap.yaml")
    assert result.ok and result.findings == ()
    doc = result.require()
    assert doc.info == m.Info(label="Demo", description="A small capability.")
    assert doc.capability is not None
    consumer = doc.capability.consumes[0]
    assert consumer.namespace == "api" and consumer.base_uri == "http://upstream.example"
    assert consumer.find("get-item") is not None
    rest = doc.capability.exposes[0]
    assert isinstance(rest, m.ExposesRest) and rest.port == 8080
    assert rest.resources[0].operations[0].call == "api.get-item"
    with pytest.raises(AttributeError):
        rest.port = 1  # type: ignore[misc]  # the model is immutable


def test_bad_yaml_is_reported_with_line_and_column() -> None:
    found = messages("naftiko: 1.0.0-alpha2\ninfo: [unclosed\n")
    assert len(found) == 1
    assert found[0].startswith("cap.yaml:3:1  $  error: invalid YAML")


def test_duplicate_yaml_keys_are_errors() -> None:
    found = messages(MINIMAL.replace("  label: Demo\n", "  label: Demo\n  label: Again\n"))
    assert found == [
        "cap.yaml:4:3  $  error: invalid YAML: duplicate key 'label' (line 4 reads: '  label: Again')"
    ]


@pytest.mark.parametrize("version", ["0.5", "2.0.0", "1.0.0"])
def test_other_versions_are_refused_clearly(version: str) -> None:
    found = messages(MINIMAL.replace("1.0.0-alpha2", version, 1))
    assert len(found) == 1
    assert "cap.yaml:1:10  $.naftiko  error: unsupported naftiko version " in found[0]
    assert version in found[0].split("error:")[1]
    assert "1.0.0-alpha2" in found[0]


@pytest.mark.parametrize("version", ["1.0.0-alpha1", "1.0.0-alpha3"])
def test_alpha1_and_alpha3_are_read_as_alpha2(version: str) -> None:
    result = load_text(MINIMAL.replace("1.0.0-alpha2", version, 1), "cap.yaml")
    assert result.ok and not result.findings


def test_missing_version_is_an_error() -> None:
    found = messages(MINIMAL.replace("naftiko: 1.0.0-alpha2\n", ""))
    assert found and "needs a root version key" in found[0]


def test_call_naming_no_operation_is_an_error_at_the_call() -> None:
    found = messages(MINIMAL.replace("call: api.get-item", "call: api.get-thing"))
    assert found == [
        "cap.yaml:24:15  $.capability.exposes[0].resources[0].operations[0].call  error: "
        "call 'api.get-thing': 'api' has no operation 'get-thing' (it has: get-item)"
    ]


def test_call_naming_no_namespace_is_an_error() -> None:
    found = messages(MINIMAL.replace("call: api.get-item", "call: nope.get-item"))
    assert len(found) == 1 and "names no consumes namespace 'nope' (declared: api)" in found[0]


def test_duplicate_namespaces_are_errors() -> None:
    found = messages(MINIMAL.replace("namespace: demo", "namespace: api"))
    assert len(found) == 1
    assert "$.capability.exposes[0].namespace" in found[0]
    assert "namespace 'api' is already used by a consumes" in found[0]


def test_unknown_in_is_an_error() -> None:
    text = MINIMAL.replace(
        "        method: GET\n",
        "        method: GET\n        inputParameters:\n        - name: x\n          in: somewhere\n",
        1,
    )
    found = messages(text)
    assert len(found) == 1
    assert (
        "inputParameters[0].in  error: 'somewhere' is not one of query, header, path, cookie, body, environment"
        in found[0]
    )


def test_path_placeholder_nothing_can_fill_is_an_error() -> None:
    found = messages(MINIMAL.replace("- path: /items/{id}", "- path: /items"))
    assert len(found) == 1
    assert "needs path parameter 'id' (/items/{{id}}), and nothing feeds it" in found[0]


def test_path_placeholder_fed_by_with_or_case_insensitive_path_variable() -> None:
    fed_by_with = MINIMAL.replace("- path: /items/{id}", "- path: /items/{itemId}").replace(
        "call: api.get-item", "call: api.get-item\n        with:\n          id: rest.itemId"
    )
    assert load_text(fed_by_with, "cap.yaml").ok
    by_case = MINIMAL.replace("- path: /items/{id}", "- path: /items/{ID}")
    assert load_text(by_case, "cap.yaml").ok


AGGREGATE_TOOLS = """\
naftiko: 1.0.0-alpha2
info: {label: Demo, description: Tools that take their names from aggregate functions.}
capability:
  aggregates:
  - label: Greetings
    namespace: greetings
    functions:
    - name: hello
      description: Say hello.
      outputParameters: [{name: text, type: string, value: hello}]
    - name: bye
      description: Say goodbye.
      outputParameters: [{name: text, type: string, value: bye}]
  exposes:
  - type: mcp
    namespace: tools
    port: 9090
    tools:
    - ref: greetings.hello
    - ref: greetings.bye
"""


def test_tools_named_by_their_ref_are_distinct_and_a_repeated_one_is_an_error() -> None:
    assert load_text(AGGREGATE_TOOLS, "cap.yaml").ok
    found = messages(AGGREGATE_TOOLS + "    - ref: greetings.hello\n")
    assert len(found) == 1
    assert "$.capability.exposes[0].tools[2].ref  error: tool 'hello' is declared twice" in found[0]


def test_ports_used_twice_are_errors() -> None:
    text = MINIMAL + textwrap.indent(
        "- type: mcp\n  namespace: tools\n  port: 8080\n  tools:\n  - name: t\n    description: d\n    call: api.get-item\n",
        "  ",
    )
    found = messages(text)
    assert any(
        "$.capability.exposes[1].port  error: port 8080 is already used by the rest adapter 'demo'" in f
        for f in found
    )


def test_bad_template_and_jsonpath_are_load_errors() -> None:
    text = MINIMAL.replace(
        "        call: api.get-item\n",
        "        call: api.get-item\n        outputParameters:\n        - type: string\n          mapping: $.[oops\n",
    )
    found = messages(text)
    assert len(found) == 1 and "invalid JSONPath '$.[oops'" in found[0]
    section = MINIMAL.replace("path: /items/{{id}}", "path: /items/{{#id}}")
    assert any("path placeholder '#id' is not a parameter name" in f for f in messages(section))


def test_wrong_types_for_interpreted_fields_are_errors() -> None:
    found = messages(MINIMAL.replace("port: 8080", "port: eighty"))
    assert found == [
        "cap.yaml:19:11  $.capability.exposes[0].port  error: expected an integer, got the string 'eighty'"
    ]


def test_schema_deviation_is_a_warning_and_strict_makes_it_an_error() -> None:
    text = MINIMAL.replace("    port: 8080\n", "    port: 8080\n    color: blue\n")
    result = load_text(text, "cap.yaml")
    assert result.ok
    assert [f.format() for f in result.warnings()] == [
        "cap.yaml:20:5  $.capability.exposes[0].color  warning: unknown key 'color' "
        "(allowed: type, namespace, address, port, authentication, resources)"
    ]
    with pytest.raises(SpecError) as info:
        result.require(strict=True)
    assert "color" in str(info.value)


def test_require_raises_with_every_finding() -> None:
    result = load_text(MINIMAL.replace("call: api.get-item", "call: x.y"), "cap.yaml")
    with pytest.raises(SpecError) as info:
        result.require()
    assert info.value.findings and info.value.findings[0].severity == "error"


def test_imports_resolve_relative_to_the_capability_file(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "registry.yaml").write_text(
        textwrap.dedent("""\
        naftiko: 1.0.0-alpha2
        consumes:
        - type: http
          namespace: registry
          baseUri: http://registry.example
          resources:
          - name: ships
            path: /ships
            operations:
            - name: list-ships
        """)
    )
    cap = tmp_path / "cap.yaml"
    cap.write_text(
        MINIMAL.replace(
            "  consumes:\n",
            "  consumes:\n  - location: ./shared/registry.yaml\n    import: registry\n    as: fleet\n",
        )
    )
    doc = load_file(cap).require()
    assert doc.consumer("fleet") is not None and doc.consumer("fleet").base_uri == "http://registry.example"  # type: ignore[union-attr]
    missing = tmp_path / "missing.yaml"
    missing.write_text(
        MINIMAL.replace("  consumes:\n", "  consumes:\n  - location: ./nope.yaml\n    import: registry\n")
    )
    errors = load_file(missing).errors()
    assert errors and "imported consumer file ./nope.yaml does not exist" in errors[0].message
    wrong_ns = tmp_path / "wrong.yaml"
    wrong_ns.write_text(
        MINIMAL.replace(
            "  consumes:\n", "  consumes:\n  - location: ./shared/registry.yaml\n    import: other\n"
        )
    )
    errors = load_file(wrong_ns).errors()
    assert errors and "has no consumes namespace 'other' (it has: registry)" in errors[0].message


def test_file_not_found_and_non_mapping() -> None:
    assert load_file("/nonexistent/cap.yaml").errors()[0].message == "file not found"
    assert "must be a YAML mapping" in messages("- just\n- a list\n")[0]


@requires_shared
def test_seed_gives_sixteen_warnings_each_at_its_own_line() -> None:
    result = load_text(seed_capability_text(), "durable-workflow.yaml")
    assert result.ok
    warnings = result.warnings()
    assert len(warnings) == 16 and not result.errors()
    assert len({f.line for f in warnings}) == 16
    kinds = sorted(
        "unknown-type-required"
        if "'required', 'type'" in f.message
        else "adapter-description"
        if f.json_path == "$.capability.exposes[0].description"
        else "object-without-properties"
        if "'properties' is required" in f.message
        else f.message
        for f in warnings
    )
    assert (
        kinds == ["adapter-description"] + ["object-without-properties"] * 10 + ["unknown-type-required"] * 5
    )
