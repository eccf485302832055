"""Precise schema issues: one human-readable issue per offending node, at that node, in document order."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from naftiko_runtime.spec import schema as schema_module
from naftiko_runtime.spec.schema import (
    SCHEMA_ID,
    SCHEMA_PATH,
    SchemaIssue,
    format_path,
    get_validator,
    is_valid,
    load_schema,
    schema_issues,
)

from .support import requires_shared, seed_capability_text

REST_OP = ("capability", "exposes", 0, "resources", 0, "operations", 0)
MCP = ("capability", "exposes", 1)
TOOL = (*MCP, "tools", 0)
CONSUMED_OP = ("capability", "consumes", 0, "resources", 0, "operations", 0)


def minimal() -> dict[str, Any]:
    """A small valid capability: one HTTP consumer, a REST adapter and an MCP adapter."""
    return {
        "naftiko": "1.0.0-alpha2",
        "info": {"label": "Demo", "description": "Demo capability"},
        "capability": {
            "consumes": [
                {
                    "type": "http",
                    "namespace": "api",
                    "baseUri": "https://api.example.com",
                    "resources": [
                        {
                            "name": "items",
                            "path": "/items",
                            "operations": [
                                {
                                    "name": "list",
                                    "method": "GET",
                                    "inputParameters": [{"name": "q", "in": "query"}],
                                }
                            ],
                        }
                    ],
                }
            ],
            "exposes": [
                {
                    "type": "rest",
                    "namespace": "demo-rest",
                    "port": 8080,
                    "resources": [
                        {
                            "path": "/items",
                            "operations": [
                                {
                                    "method": "GET",
                                    "name": "list",
                                    "call": "api.list",
                                    "outputParameters": [
                                        {"type": "object", "mapping": "$.", "properties": {}}
                                    ],
                                }
                            ],
                        }
                    ],
                },
                {
                    "type": "mcp",
                    "namespace": "demo-mcp",
                    "port": 9090,
                    "tools": [
                        {
                            "name": "list-items",
                            "description": "List items",
                            "call": "api.list",
                            "outputParameters": [
                                {
                                    "type": "array",
                                    "mapping": "$.items",
                                    "items": {"type": "string", "mapping": "$.id"},
                                }
                            ],
                        }
                    ],
                },
            ],
        },
    }


def node(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def only_issue(doc: Any) -> SchemaIssue:
    issues = schema_issues(doc)
    assert len(issues) == 1, [str(issue) for issue in issues]
    return issues[0]


# --------------------------------------------------------------------------- the schema file


def test_schema_file_is_ours_and_loads() -> None:
    schema = load_schema()
    assert schema["$id"] == SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["naftiko"]["const"] == "1.0.0-alpha2"
    assert load_schema() is schema  # cached
    assert get_validator() is get_validator()
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == schema
    Draft202012Validator.check_schema(schema)


def test_schema_has_no_bare_unions() -> None:
    """oneOf/anyOf only ever appear inside an `if` (as a condition), never as an assertion."""

    def walk(value: Any, in_condition: bool) -> list[str]:
        found: list[str] = []
        if isinstance(value, dict):
            for key, sub in value.items():
                if key in ("oneOf", "anyOf") and not in_condition:
                    found.append(key)
                found += walk(sub, in_condition or key == "if")
        elif isinstance(value, list):
            for sub in value:
                found += walk(sub, in_condition)
        return found

    assert walk(load_schema(), False) == []


def test_minimal_document_is_valid() -> None:
    assert schema_issues(minimal()) == []
    assert is_valid(minimal())


# --------------------------------------------------------------------------- one issue per node, at that node


def test_unknown_keys_on_a_consumed_input_parameter() -> None:
    doc = minimal()
    node(doc, (*CONSUMED_OP, "inputParameters", 0)).update({"type": "string", "required": True})
    issue = only_issue(doc)
    assert issue.path == (*CONSUMED_OP, "inputParameters", 0)
    assert issue.keyword == "additionalProperties"
    assert issue.key == "type"  # first unexpected key in document order
    assert issue.message == "unknown keys 'required', 'type' (allowed: name, in, value)"


def test_object_output_without_properties() -> None:
    doc = minimal()
    del node(doc, (*REST_OP, "outputParameters", 0))["properties"]
    issue = only_issue(doc)
    assert issue.path == (*REST_OP, "outputParameters", 0)
    assert issue.keyword == "required"
    assert issue.key is None
    assert issue.message == "'properties' is required for an object output"


def test_port_out_of_range() -> None:
    doc = minimal()
    node(doc, MCP)["port"] = 70000
    issue = only_issue(doc)
    assert issue.path == (*MCP, "port")
    assert (issue.keyword, issue.message) == ("maximum", "70000 is greater than the maximum 65535")


def test_bad_method() -> None:
    doc = minimal()
    node(doc, REST_OP)["method"] = "FETCH"
    issue = only_issue(doc)
    assert issue.path == (*REST_OP, "method")
    assert (issue.keyword, issue.message) == ("enum", "'FETCH' is not one of GET, POST, PUT, PATCH, DELETE")


def test_wrong_type_names_the_expected_and_actual_types() -> None:
    doc = minimal()
    node(doc, MCP)["port"] = "9090"
    assert only_issue(doc).message == "expected an integer, got the string '9090'"


def test_stdio_transport_with_a_port_points_at_the_port() -> None:
    doc = minimal()
    node(doc, MCP)["transport"] = "stdio"
    issue = only_issue(doc)
    assert issue.path == (*MCP, "port")
    assert issue.message == "'port' is not allowed with transport 'stdio'"
    del node(doc, MCP)["port"]
    assert schema_issues(doc) == []


def test_http_mcp_without_port() -> None:
    doc = minimal()
    del node(doc, MCP)["port"]
    issue = only_issue(doc)
    assert (issue.path, issue.keyword) == (MCP, "required")
    assert issue.message == "'port' is required unless transport is 'stdio'"


def test_capability_and_root_consumes_together() -> None:
    doc = minimal()
    doc["consumes"] = copy.deepcopy(doc["capability"]["consumes"])
    issue = only_issue(doc)
    assert issue.path == ("consumes",)
    assert "either 'capability' or a root 'consumes'" in issue.message


def test_document_without_capability_or_consumes() -> None:
    doc = minimal()
    del doc["capability"]
    issue = only_issue(doc)
    assert (issue.path, issue.keyword) == ((), "required")
    assert "needs 'capability'" in issue.message


def test_unknown_adapter_type_is_reported_at_the_type() -> None:
    doc = minimal()
    node(doc, MCP)["type"] = "grpc"
    issue = only_issue(doc)
    assert issue.path == (*MCP, "type")
    assert issue.message == "'grpc' is not one of rest, mcp, skill, control"


def test_leaf_error_inside_a_discriminated_union() -> None:
    """A bad field deep inside an MCP tool: the issue is at that field, not 'not valid under any' at the tool."""
    doc = minimal()
    node(doc, (*TOOL, "outputParameters", 0, "items"))["type"] = "date"
    issue = only_issue(doc)
    assert issue.path == (*TOOL, "outputParameters", 0, "items", "type")
    assert issue.message == "'date' is not one of string, number, boolean, object, array"


def test_bad_call_pattern() -> None:
    doc = minimal()
    node(doc, TOOL)["call"] = "api.list.all"
    issue = only_issue(doc)
    assert issue.path == (*TOOL, "call")
    assert issue.keyword == "pattern"
    assert "'api.list.all' is not of the form <namespace>.<name>" in issue.message


def test_mapping_and_value_are_exclusive() -> None:
    doc = minimal()
    node(doc, (*TOOL, "outputParameters", 0, "items"))["value"] = "x"
    issue = only_issue(doc)
    assert issue.path == (*TOOL, "outputParameters", 0, "items", "value")
    assert issue.message == "'value' cannot be combined with 'mapping'"


def test_tool_without_handler() -> None:
    doc = minimal()
    tool = node(doc, TOOL)
    del tool["call"], tool["outputParameters"]
    issue = only_issue(doc)
    assert issue.path == TOOL
    assert issue.message == "a tool needs 'call', 'steps' or mock 'outputParameters'"


def test_mixed_output_families_are_reported_on_the_list() -> None:
    doc = minimal()
    node(doc, (*TOOL, "outputParameters")).append({"name": "status", "type": "string", "value": "ok"})
    issue = only_issue(doc)
    assert issue.path == (*TOOL, "outputParameters")
    assert issue.message.startswith("mixes mock outputs")


def test_missing_keys_and_unknown_keys_of_one_node_make_one_issue() -> None:
    doc = minimal()
    doc["info"] = {"name": "Demo", "version": "1"}
    issue = only_issue(doc)
    assert issue.path == ("info",)
    assert issue.keyword == "required"
    assert issue.key == "name"
    assert issue.message == (
        "missing required keys 'label', 'description'; unknown keys 'name', 'version' "
        "(allowed: label, description, tags, created, modified, stakeholders)"
    )


def test_bad_binding_variable_name_points_at_the_key() -> None:
    doc = minimal()
    doc["binds"] = [{"namespace": "env", "keys": {"GOOD": "x", "bad name": "y"}}]
    issue = only_issue(doc)
    assert issue.path == ("binds", 0, "keys")
    assert issue.key == "bad name"
    assert issue.message == "key 'bad name' is not an UPPER_SNAKE_CASE variable name"


def test_empty_list_where_one_item_is_required() -> None:
    doc = minimal()
    node(doc, MCP)["tools"] = []
    issue = only_issue(doc)
    assert (issue.path, issue.keyword) == ((*MCP, "tools"), "minItems")
    assert issue.message == "the 'tools' list must not be empty"


def test_non_object_document() -> None:
    issue = only_issue(["naftiko"])
    assert issue.path == ()
    assert issue.message == "expected an object, got an array"


def test_issues_follow_document_order_not_schema_order() -> None:
    doc = minimal()
    reordered = {"capability": doc["capability"], "naftiko": "1.0.0-alpha1", "info": {"label": "x"}}
    node(reordered, MCP)["port"] = 0
    issues = schema_issues(reordered)
    assert [issue.path for issue in issues] == [(*MCP, "port"), ("naftiko",), ("info",)]


def test_no_message_is_a_raw_union_wrapper() -> None:
    doc = minimal()
    node(doc, REST_OP)["outputParameters"] = [{"name": "x", "type": "string"}]
    node(doc, TOOL)["steps"] = [{"type": "loop", "name": "s"}]
    node(doc, (*CONSUMED_OP,))["body"] = {"type": "json", "data": 1}
    node(doc, ("capability", "consumes", 0))["authentication"] = {"type": "apikey", "placement": "cookie"}
    issues = schema_issues(doc)
    assert len(issues) == 4
    for issue in issues:
        assert "valid under" not in issue.message
        assert "is not valid" not in issue.message


# --------------------------------------------------------------------------- anyOf / oneOf descent (generic)


def test_remaining_unions_are_descended_into_the_best_branch() -> None:
    schema = {
        "oneOf": [
            {
                "type": "object",
                "properties": {"kind": {"const": "a"}, "size": {"type": "integer"}},
                "required": ["kind"],
            },
            {"type": "object", "properties": {"kind": {"const": "b"}}, "required": ["kind", "other"]},
        ]
    }
    issues = schema_module._collect_issues(Draft202012Validator(schema), {"kind": "a", "size": "big"})
    assert [(issue.path, issue.keyword) for issue in issues] == [(("size",), "type")]
    assert issues[0].message == "expected an integer, got the string 'big'"


# --------------------------------------------------------------------------- paths and the dataclass


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "$"),
        (("capability", "exposes", 0, "resources", 2), "$.capability.exposes[0].resources[2]"),
        (("binds", 0, "keys", "a b"), "$.binds[0].keys['a b']"),
        (("skills", 0, "allowed-tools"), "$.skills[0]['allowed-tools']"),
        (("x", "it's"), "$.x['it\\'s']"),
        (("_private", "A1"), "$._private.A1"),
        (("1abc",), "$['1abc']"),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def test_schema_issue_is_frozen_and_printable() -> None:
    issue = SchemaIssue(path=("info",), message="missing required key 'label'", keyword="required")
    assert issue.key is None
    assert str(issue) == "$.info: missing required key 'label'"
    assert issue.location == "$.info"
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.message = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- the seed


@requires_shared
def test_seed_yields_exactly_sixteen_issues() -> None:
    doc = yaml.safe_load(seed_capability_text())
    issues = schema_issues(doc)
    assert len(issues) == 16, [str(issue) for issue in issues]
    assert len({issue.path for issue in issues}) == 16

    unknown_description = [issue for issue in issues if issue.key == "description"]
    assert [issue.path for issue in unknown_description] == [("capability", "exposes", 0)]
    assert unknown_description[0].message.startswith("unknown key 'description' (allowed: type, namespace")

    input_params = [issue for issue in issues if issue.key == "type"]
    assert len(input_params) == 5
    for issue in input_params:
        assert issue.path[:2] == ("capability", "consumes") and issue.path[-2] == "inputParameters"
        assert issue.keyword == "additionalProperties"
        assert issue.message == "unknown keys 'required', 'type' (allowed: name, in, value)"

    outputs = [issue for issue in issues if issue.keyword == "required"]
    assert len(outputs) == 10
    assert all(issue.message == "'properties' is required for an object output" for issue in outputs)
    assert {issue.path for issue in outputs} == {
        *(
            ("capability", "exposes", 0, "resources", i, "operations", 0, "outputParameters", 0)
            for i in range(5)
        ),
        *(("capability", "exposes", 1, "tools", i, "outputParameters", 0) for i in range(5)),
    }
    # document order: the seed declares consumes before exposes, and the REST adapter before its resources
    assert issues == sorted(issues, key=lambda issue: schema_module._order_key(doc, issue.path))
    assert issues[0].path[:2] == ("capability", "consumes")
