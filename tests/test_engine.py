"""Invocations: ``with`` references, aliases, templates and literals; mock operations; steps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from naftiko_runtime.binds import Bindings, Secret
from naftiko_runtime.engine import Runtime, apply_with, check_steps, compile_with
from naftiko_runtime.engine import steps as step_table
from naftiko_runtime.errors import ConfigError, InvalidInputError, TemplateError, UnsupportedFeatureError
from naftiko_runtime.spec.loader import load_text
from naftiko_runtime.spec.model import Invocable

from .support import run_asgi
from .upstreams import scripted_app


def test_with_references_aliases_templates_and_literals() -> None:
    entries = compile_with(
        {"runId": "rest.runId", "other": "svc.Other", "key": "{{env.KEY}}-{{runid}}", "lit": "rest", "n": 3},
        ("svc.", "rest."),
    )
    args = apply_with(entries, {"runid": "r-1", "other": "o"}, [{"env": {"KEY": "k"}}])
    assert args == {"runid": "r-1", "other": "o", "runId": "r-1", "key": "k-r-1", "lit": "rest", "n": 3}


def test_with_reference_to_a_missing_input_leaves_the_key_unset() -> None:
    args = apply_with(compile_with({"runId": "tools.runId"}, ("tools.",)), {"runId": "x", "a": 1}, [])
    assert args["runId"] == "x"
    args = apply_with(compile_with({"runId": "tools.nope"}, ("tools.",)), {"a": 1}, [])
    assert "runId" not in args


def test_with_template_missing_name_is_a_request_error() -> None:
    with pytest.raises(TemplateError, match="'with' value 'key' needs a value for 'missing'"):
        apply_with(compile_with({"key": "{{missing}}"}, ()), {}, [])


MOCK = """\
naftiko: 1.0.0-alpha2
info: {label: m, description: m}
capability:
  exposes:
  - type: mcp
    namespace: ships
    port: 0
    tools:
    - name: get-ship
      description: d
      inputParameters:
      - {name: imo, type: string, description: d}
      outputParameters:
      - {name: imo, type: string, value: "{{imo}}"}
      - {name: name, type: string, value: Northern Star}
"""


def test_mock_operation_answers_without_upstream() -> None:
    doc = load_text(MOCK, "m.yaml").require()
    tool = doc.capability.exposes[0].tools[0]  # type: ignore[union-attr]

    async def go() -> Any:
        async with Runtime(doc) as rt:
            inv = rt.invocation("get-ship", tool.invocable)
            return await inv.run({"imo": "IMO-1"})

    out = asyncio.run(go())
    assert (out.status, out.data) == (200, {"imo": "IMO-1", "name": "Northern Star"})


FUNCTION = """\
naftiko: 1.0.0-alpha2
info: {label: f, description: f}
capability:
  aggregates:
  - label: Ships
    namespace: ships
    functions:
    - name: get-ship
      description: d
      inputParameters:
      - {name: imo, type: string, description: d}
      - {name: flag, type: string, description: d, required: false}
      outputParameters:
      - {name: imo, type: string, value: "{{imo}}"}
  exposes:
  - type: rest
    namespace: ships-rest
    port: 0
    resources:
    - path: /ships
      operations:
      - {method: GET, ref: ships.get-ship}
"""


def test_an_aggregate_function_checks_its_required_inputs_for_every_caller() -> None:
    doc = load_text(FUNCTION, "f.yaml").require()
    op = doc.capability.exposes[0].resources[0].operations[0]  # type: ignore[union-attr]

    async def go(inputs: dict[str, Any]) -> Any:
        async with Runtime(doc) as rt:
            return await rt.invocation("GET /ships", op.invocable).run(inputs)

    assert asyncio.run(go({"imo": "IMO-1"})).data == {"imo": "IMO-1"}
    for inputs in ({}, {"imo": ""}, {"imo": None, "flag": "NO"}):
        with pytest.raises(InvalidInputError) as info:
            asyncio.run(go(inputs))
        assert info.value.parameter == "imo" and str(info.value) == "ships.get-ship needs input 'imo'"


STEPS = """\
naftiko: 1.0.0-alpha2
info: {label: s, description: s}
capability:
  consumes:
  - type: http
    namespace: reg
    baseUri: http://h
    resources:
    - name: ship
      path: /ships/{{imo}}
      operations:
      - name: get-ship
    - name: crew
      path: /crew
      operations:
      - name: list-crew
  exposes:
  - type: mcp
    namespace: fleet
    port: 0
    tools:
    - name: ship-with-crew
      description: d
      inputParameters:
      - {name: imo, type: string, description: d}
      steps:
      - {type: call, name: get-ship, call: reg.get-ship, with: {imo: fleet.imo}}
      - {type: call, name: list-crew, call: reg.list-crew}
      - type: lookup
        name: resolve-crew
        index: list-crew
        match: id
        lookupValue: $.get-ship.crewIds
        outputParameters: [name]
      mappings:
      - {targetName: ship.name, value: $.get-ship.name}
      - {targetName: crew, value: $.resolve-crew}
      outputParameters:
      - {name: ship, type: object, properties: {name: {type: string}}}
"""


def test_steps_call_lookup_and_mappings() -> None:
    app = scripted_app(
        {
            "/ships/IMO-1": (200, "application/json", '{"name": "Star", "crewIds": ["c2", "c1"]}'),
            "/crew": (200, "application/json", '[{"id": "c1", "name": "Ann"}, {"id": "c2", "name": "Bo"}]'),
        }
    )
    doc = load_text(STEPS, "s.yaml").require()
    tool = doc.capability.exposes[0].tools[0]  # type: ignore[union-attr]

    async def go(url: str) -> Any:
        async with Runtime(doc, upstreams={"reg": url}) as rt:
            inv = rt.invocation(tool.name, tool.invocable)
            return await inv.run({"imo": "IMO-1"})

    with run_asgi(app) as url:
        out = asyncio.run(go(url))
    assert out.status == 200
    assert out.data == {"ship": {"name": "Star"}, "crew": [{"name": "Bo"}, {"name": "Ann"}]}


def test_runtime_redacts_bound_values_from_upstream_errors() -> None:
    app = scripted_app({"/ships/x": (500, "text/plain", "boom: token super-secret-token leaked")})
    doc = load_text(STEPS, "s.yaml").require()
    bindings = Bindings(flat={"T": Secret("super-secret-token")})

    async def go(url: str) -> str:
        async with Runtime(doc, bindings, upstreams={"reg": url}) as rt:
            inv = rt.invocation("t", Invocable(call="reg.get-ship"))
            try:
                await inv.run({"imo": "x"})
            except Exception as exc:  # noqa: BLE001
                return str(exc)
        return ""

    with run_asgi(app) as url:
        message = asyncio.run(go(url))
    assert "reg.get-ship returned HTTP 500" in message and "super-secret" not in message and "***" in message


def test_unknown_upstream_override_is_refused() -> None:
    doc = load_text(STEPS, "s.yaml").require()
    with pytest.raises(ConfigError, match="no consumes namespace 'nope'"):
        Runtime(doc, upstreams={"nope": "http://x"})


def test_identity_outputs_pass_the_upstream_json_through_unparsed() -> None:
    from naftiko_runtime.spec.model import OutputParameter

    app = scripted_app(
        {
            "/ships/obj": (200, "application/json", '{"name": "Star"}'),
            "/ships/arr": (200, "application/json", "[1, 2]"),
            "/ships/html": (200, "text/html", "<p>not json</p>"),
        }
    )
    doc = load_text(STEPS, "s.yaml").require()
    identity = (OutputParameter("object", mapping="$."),)

    async def go(url: str) -> list[Any]:
        async with Runtime(doc, upstreams={"reg": url}) as rt:
            inv = rt.invocation("t", Invocable(call="reg.get-ship", output_parameters=identity))
            obj = await inv.run({"imo": "obj"})
            arr = await inv.run({"imo": "arr"})
            try:
                await inv.run({"imo": "html"})
            except Exception as exc:  # noqa: BLE001
                return [obj, arr, type(exc).__name__]
        return []

    with run_asgi(app) as url:
        obj, arr, error = asyncio.run(go(url))
    assert obj.raw_json and obj.raw == b'{"name": "Star"}' and obj.value() == {"name": "Star"}
    assert not arr.raw_json and arr.data == [1, 2]  # not an object: decoded and returned as is
    assert error == "UpstreamPayloadError"


def test_redactor_bytes_fast_path() -> None:
    from naftiko_runtime.binds import Redactor

    redact = Redactor(["s3cret-value"])
    clean = b'{"a": 1}'
    assert redact.bytes(clean) is clean
    assert redact.bytes(b'{"t": "s3cret-value"}') == b'{"t": "***"}'


SCRIPT = """\
naftiko: 1.0.0-alpha2
info: {label: s, description: s}
capability:
  consumes:
  - type: http
    namespace: reg
    baseUri: http://h
    resources:
    - name: ship
      path: /ships
      operations:
      - name: list-ships
  exposes:
  - type: mcp
    namespace: fleet
    port: 0
    tools:
    - name: scripted
      description: d
      steps:
      - {type: call, name: ships, call: reg.list-ships}
      - {type: script, name: tally, language: javascript, file: tally.js}
"""


@pytest.fixture
def no_script_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    """Every step type has a runner now: take the script row out, and give the step its file."""
    monkeypatch.setitem(step_table.STEPS, "script", None)  # type: ignore[arg-type]
    (tmp_path / "tally.js").write_text("result = context.ships.length")
    return tmp_path


def test_a_step_type_without_a_runner_is_reported_at_its_position(no_script_runner: Any) -> None:
    findings = [f.format() for f in check_steps(load_text(SCRIPT, "s.yaml", base_dir=no_script_runner))]
    assert findings == [
        "s.yaml:22:16  $.capability.exposes[0].tools[0].steps[1].type  "
        "error: script steps are not supported by this runtime"
    ]
    assert check_steps(load_text(STEPS, "s.yaml")) == []


def test_compiling_a_step_type_without_a_runner_refuses_and_names_the_step(no_script_runner: Any) -> None:
    doc = load_text(SCRIPT, "s.yaml", base_dir=no_script_runner).require()
    tool = doc.capability.exposes[0].tools[0]  # type: ignore[union-attr]
    expected = (
        r"^s\.yaml: \$\.capability\.exposes\[0\]\.tools\[0\]\.steps\[1\]: script steps are not supported"
    )
    with pytest.raises(UnsupportedFeatureError, match=expected):
        Runtime(doc).invocation(tool.name, tool.invocable)
