"""The model's shared rules: effective inputs, ``with`` references, and the invocables of a document."""

from __future__ import annotations

from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_text


def test_an_inner_input_replaces_an_outer_one_of_the_same_name_and_location_in_its_place() -> None:
    outer = (m.ConsumedInputParameter("id", "path"), m.ConsumedInputParameter("k", "header", value="a"))
    inner = (m.ConsumedInputParameter("k", "header", value="b"), m.ConsumedInputParameter("k", "query"))
    merged = m.effective_inputs(outer, (), inner)
    assert [(p.name, p.in_, p.value) for p in merged] == [
        ("id", "path", None),
        ("k", "header", "b"),
        ("k", "query", None),
    ]


def test_a_with_reference_names_an_input_after_one_of_the_prefixes() -> None:
    prefixes = m.with_prefixes("shop", "mcp")
    assert prefixes == ("shop.", "tools.")
    assert m.with_reference("tools.id", prefixes) == "id"
    assert m.with_reference("shop.order.id", prefixes) == "order.id"
    assert m.with_reference("tools.", prefixes) is None  # a prefix alone names nothing
    assert m.with_reference("{{tools.id}}", prefixes) is None
    assert m.with_reference(3, prefixes) is None
    assert m.with_prefixes("calc") == ("calc.",)


DOC = """\
naftiko: 1.0.0-alpha2
info: {label: d, description: d}
capability:
  consumes:
  - {type: http, namespace: api, baseUri: "http://h", resources: [{name: r, path: /r, operations: [{name: op}]}]}
  aggregates:
  - namespace: calc
    functions:
    - {name: f, description: d, call: api.op}
  exposes:
  - type: rest
    namespace: web
    port: 0
    resources:
    - path: /x
      operations:
      - {method: GET, ref: calc.f}
  - type: mcp
    namespace: tools-ns
    port: 1
    tools:
    - {name: t, description: d, call: api.op, with: {id: tools.id}}
    resources:
    - {name: live, uri: "data://live", call: api.op}
"""


def test_every_invocable_is_built_once_with_the_prefixes_of_its_owner() -> None:
    doc = load_text(DOC, "d.yaml").require()
    found = [(i.call, i.ref, i.prefixes, i.path[-2:]) for i in doc.invocables()]
    assert found == [
        ("api.op", None, ("calc.",), ("functions", 0)),
        (None, "calc.f", ("web.", "rest."), ("operations", 0)),
        ("api.op", None, ("tools-ns.", "tools."), ("tools", 0)),
        ("api.op", None, ("tools-ns.", "tools."), ("resources", 0)),
    ]
    rest = doc.capability.exposes[0]  # type: ignore[union-attr]
    assert isinstance(rest, m.ExposesRest)
    assert rest.resources[0].operations[0].ref == "calc.f"  # read through to the invocable
