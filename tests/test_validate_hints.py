"""validate's help for hand-written files: a typo'd key gets a "did you mean", a YAML syntax error shows
the line it is on."""

from __future__ import annotations

from naftiko_runtime.spec.loader import load_text

HEAD = "naftiko: 1.0.0-alpha2\ninfo: {label: Hints, description: typos}\n"


def test_a_typod_key_gets_the_key_it_most_likely_meant() -> None:
    text = (
        HEAD
        + """\
capability:
  exposes:
  - type: rest
    namespace: api
    port: 8080
    resources:
    - path: /a
      descripton: the a resource
      operations:
      - method: GET
        outputparameters: [{type: string, value: "1"}]
        outputParameters: [{type: string, value: "1"}]
"""
    )
    messages = [f.format() for f in load_text(text, "cap.yaml").warnings()]
    assert messages == [
        "cap.yaml:10:7  $.capability.exposes[0].resources[0].descripton  warning: unknown key 'descripton': "
        "did you mean 'description'? (allowed: path, name, label, description, inputParameters, operations, forward)",
        "cap.yaml:13:9  $.capability.exposes[0].resources[0].operations[0].outputparameters  warning: unknown key "
        "'outputparameters': did you mean 'outputParameters'? (allowed: method, name, label, description, "
        "inputParameters, call, ref, with, steps, mappings, outputParameters)",
    ]


def test_a_key_like_nothing_allowed_gets_no_guess() -> None:
    text = HEAD + "capability:\n  exposes: []\n  colour: red\n"
    [finding] = [f for f in load_text(text, "cap.yaml").findings if "colour" in f.message]
    assert "did you mean" not in finding.message


def test_a_yaml_syntax_error_shows_the_offending_line() -> None:
    text = "naftiko: 1.0.0-alpha2\ninfo:\n  label: x\n   description: y\n"
    [error] = load_text(text, "cap.yaml").errors()
    assert error.format() == (
        "cap.yaml:4:15  $  error: invalid YAML: mapping values are not allowed in this context "
        "(line 4 reads: '   description: y')"
    )
