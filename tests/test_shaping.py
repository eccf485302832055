"""Output shaping with exposed outputParameters."""

from __future__ import annotations

from typing import Any

import pytest

from naftiko_runtime.errors import MappingError
from naftiko_runtime.shaping import compile_mock, compile_outputs, mock_outputs
from naftiko_runtime.spec.model import OutputParameter as P

PAYLOAD = {
    "id": "s1",
    "name": "Star",
    "specs": {"year": 2001, "tonnage": 5.5},
    "crew": [{"id": "c1", "role": "captain", "extra": 1}, {"id": "c2", "role": "cook"}],
}


def shape(params: list[P], payload: Any = PAYLOAD, scopes: Any = ()) -> Any:
    return compile_outputs(params).apply(payload, scopes, "api.op")


def test_no_outputs_pass_the_payload_through() -> None:
    assert shape([]) is PAYLOAD


def test_object_without_properties_returns_the_mapped_value_as_is() -> None:
    assert shape([P("object", mapping="$.")]) == PAYLOAD
    assert shape([P("object", mapping="$.specs")]) == {"year": 2001, "tonnage": 5.5}


def test_empty_properties_declare_no_shape_and_pass_the_mapped_value_through() -> None:
    # `properties: {}` is how a schema-valid file says "an object, shape not declared"
    assert shape([P("object", mapping="$.specs", properties={})]) == {"year": 2001, "tonnage": 5.5}
    nested = P(
        "object",
        properties={
            "id": P("string", mapping="$.id"),
            "specs": P("object", mapping="$.specs", properties={}),
        },
    )
    assert shape([nested]) == {"id": "s1", "specs": {"year": 2001, "tonnage": 5.5}}
    assert shape([P("object", properties={"gone": P("object", mapping="$.nope", properties={})})]) == {
        "gone": None
    }


def test_nested_properties_and_arrays_with_items() -> None:
    params = [
        P(
            "object",
            properties={
                "imo": P("string", mapping="$.id"),
                "specs": P("object", properties={"built": P("number", mapping="$.specs.year")}),
                "crew": P(
                    "array",
                    mapping="$.crew",
                    items=P("object", properties={"who": P("string", mapping="$.role")}),
                ),
                "ids": P("array", mapping="$.crew[*].id"),
                "missing": P("string", mapping="$.nope"),
            },
        )
    ]
    assert shape(params) == {
        "imo": "s1",
        "specs": {"built": 2001},
        "crew": [{"who": "captain"}, {"who": "cook"}],
        "ids": ["c1", "c2"],
        "missing": None,
    }


def test_object_mapping_scopes_its_properties() -> None:
    params = [P("object", mapping="$.specs", properties={"t": P("number", mapping="$.tonnage")})]
    assert shape(params) == {"t": 5.5}


def test_array_of_a_non_array_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match=r"expects an array at \$.specs, got an object"):
        shape([P("array", mapping="$.specs", items=P("string", mapping="$.x"))])


def test_const_and_templated_values_with_coercion() -> None:
    params = [
        P(
            "object",
            properties={
                "c": P("string", const="fixed", has_const=True),
                "v": P("number", value="42"),
                "b": P("boolean", value="true"),
                "t": P("string", value="Hello, {{name}}!"),
            },
        )
    ]
    assert shape(params, scopes=[{"name": "Ann"}]) == {"c": "fixed", "v": 42, "b": True, "t": "Hello, Ann!"}


def test_several_top_level_outputs_named_build_an_object_unnamed_take_the_first_value() -> None:
    assert shape([P("string", name="a", mapping="$.id"), P("string", name="b", mapping="$.name")]) == {
        "a": "s1",
        "b": "Star",
    }
    assert shape([P("string", mapping="$.nope"), P("string", mapping="$.name")]) == "Star"


def test_mock_outputs() -> None:
    params = [P("string", name="imo", value="{{imo}}"), P("string", name="status", value="active")]
    assert mock_outputs(params)
    assert compile_mock(params).apply(None, [{"imo": "IMO-1"}], "t") == {"imo": "IMO-1", "status": "active"}
    assert not mock_outputs([P("string", name="x", mapping="$.x")])
