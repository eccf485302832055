"""``naftiko convert``: alpha2 ⇄ beta5, faithful in meaning, refusing what the target cannot express."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from naftiko_runtime.cli import main
from naftiko_runtime.spec.dialects.convert import convert_text
from naftiko_runtime.spec.loader import load_file, load_text

from .dialect_support import BETA, beta_documents, fill_invented_names, meaning
from .support import CONFORMANCE, ROOT, requires_shared

ALPHA_DOCS = (
    sorted(
        p
        for p in (CONFORMANCE / "capabilities").rglob("*.y*ml")
        if "naftiko: 1.0.0-alpha2" in p.read_text().replace('"', "")
    )
    if CONFORMANCE.is_dir()
    else []
)
BETA_DOCS = beta_documents()
CASES = [(p, "beta5", "alpha2") for p in ALPHA_DOCS] + [(p, "alpha2", "beta5") for p in BETA_DOCS]

#: beta5 files alpha2 cannot express: refused, with the first finding
REFUSED = {
    "engine/imports/aggregates/shared.aggregates.yml": "alpha2 has no shared aggregates files",
    "engine/imports/binds/shared.binds.yml": "alpha2 has no shared binds files",
    "engine/imports/exposes/shared-servers.yml": "alpha2 has no shared exposes files",
    "engine/imports/exposes/shared.exposes.yml": "alpha2 has no shared exposes files",
    "spec/rules/spectral-tunnel-fallback-direct-public.yaml": "alpha2 cannot express tunnel",
    # binary content is beta-only (outputRawFormat: binary, outputMediaType, maxBinarySize, responses...)
    "schema/examples/capability-binary-content.yml": "alpha2 cannot express binary content",
}

EXAMPLE = ROOT / "examples" / "durable-workflow.ikanos.yaml"
DURABLE = ROOT / "capabilities" / "durable-workflow.yaml"


def _id(case: tuple[Path, str, str]) -> str:
    path, to, _ = case
    return f"{to}:{path.relative_to(CONFORMANCE).as_posix()}"


def _rel_beta(path: Path) -> str | None:
    return path.relative_to(BETA).as_posix() if BETA in path.parents else None


@requires_shared
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_round_trips_build_the_same_model(case: tuple[Path, str, str]) -> None:
    path, to, back = case
    original = load_file(path)
    if not original.ok:
        return  # files refused at load are covered by the dialect and corpus tests
    converted, findings = convert_text(path.read_text(encoding="utf-8"), to, str(path))
    refused = REFUSED.get(_rel_beta(path) or "")
    if refused is not None:
        assert converted is None and refused in findings[0].message, [f.format() for f in findings]
        return
    assert converted is not None, [f.format() for f in findings]
    expected = meaning(original.document)
    there = load_text(converted, str(path), base_dir=path.parent)
    assert there.ok, [f.format() for f in there.errors()]
    assert fill_invented_names(meaning(there.document), expected) == expected
    returned, findings = convert_text(converted, back, str(path))
    assert returned is not None, [f.format() for f in findings]
    again = load_text(returned, str(path), base_dir=path.parent)
    assert again.ok and fill_invented_names(meaning(again.document), expected) == expected


ANONYMOUS = """\
naftiko: 1.0.0-alpha2
capability:
  consumes:
    - namespace: api
      type: http
      baseUri: https://api.example.com
      resources:
        - name: items
          path: /items
          operations:
            - name: list-items
              method: GET
  exposes:
    - type: rest
      namespace: web
      port: 9000
      resources:
        - path: /items/all
          operations:
            - method: GET
              call: api.list-items
"""


def test_anonymous_entries_get_a_key_and_a_warning() -> None:
    converted, findings = convert_text(ANONYMOUS, "beta5", "cap.yaml")
    assert converted is not None
    assert (
        "      resources:\n        items-all:\n          path: /items/all\n          operations:\n            get:\n"
        in converted
    )
    assert [f.format() for f in findings] == [
        "cap.yaml:18:11  $.capability.exposes[0].resources[0]  warning: beta5 keys every entry by name: "
        "this one is keyed 'items-all'",
        "cap.yaml:20:15  $.capability.exposes[0].resources[0].operations[0]  warning: beta5 keys every entry "
        "by name: this one is keyed 'get'",
    ]


def test_two_entries_of_one_name_are_refused() -> None:
    text = ANONYMOUS.replace(
        "            - name: list-items\n              method: GET\n",
        "            - name: list-items\n              method: GET\n            - name: list-items\n              method: POST\n",
    )
    converted, findings = convert_text(text, "beta5", "cap.yaml")
    assert converted is None
    assert findings[0].format() == (
        "cap.yaml:13:15  $.capability.consumes[0].resources[0].operations[1]  error: two entries named "
        "'list-items': beta5 keys them by name"
    )


def test_beta_only_features_are_refused_at_their_place() -> None:
    converted, _ = convert_text(ANONYMOUS, "beta5", "cap.yaml")
    assert converted is not None
    with_binary = converted.replace(
        "method: GET\n", "method: GET\n              outputRawFormat: binary\n", 1
    )
    refused, findings = convert_text(with_binary, "alpha2", "cap.yaml")
    assert refused is None
    assert [f.message for f in findings] == ["alpha2 cannot express binary content"]


def test_the_cli_writes_the_converted_file_and_refuses_with_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "cap.yaml"
    source.write_text(ANONYMOUS)
    out = tmp_path / "cap.ikanos.yaml"
    assert main(["convert", str(source), "--to", "beta5", "-o", str(out)]) == 0
    assert load_file(out).ok and out.read_text().startswith("ikanos: 1.0.0-beta5\n")
    assert "this one is keyed 'items-all'" in capsys.readouterr().err
    out.write_text(out.read_text().replace("port: 9000", "port: 9000\n      ttlMs: 500"))
    assert main(["convert", str(out), "--to", "alpha2"]) == 1
    err = capsys.readouterr().err
    assert "$.capability.exposes[0].ttlMs  error: alpha2 cannot express ttlMs" in err
    assert err.rstrip().endswith("not converted to alpha2")


def test_the_durable_workflow_is_published_in_the_beta_dialect() -> None:
    """examples/ holds `naftiko convert capabilities/durable-workflow.yaml --to beta5 -o ...` at the time it was
    published (regenerate it the same way); it is not tied to every later edit of the alpha2 file."""
    published = load_file(EXAMPLE)
    assert published.ok and not published.warnings(), [f.format() for f in published.findings]
    assert published.document is not None and published.document.naftiko == "1.0.0-beta5"
    back, findings = convert_text(EXAMPLE.read_text(encoding="utf-8"), "alpha2", str(EXAMPLE))
    assert back is not None, [f.format() for f in findings]
    again = load_text(back, str(EXAMPLE), base_dir=EXAMPLE.parent)
    assert again.ok and meaning(again.document) == meaning(published.document)
    names = {a.namespace for a in load_file(DURABLE).require().capability.exposes}  # type: ignore[union-attr]
    assert {a.namespace for a in published.document.capability.exposes} <= names  # type: ignore[union-attr]


COMMENTED = """\
# The items capability: a header comment
naftiko: 1.0.0-alpha2  # the dialect
info:
  label: Items  # shown in catalogs
  description: Items, commented
capability:
  consumes:
    # the one upstream
    - namespace: api
      type: http
      baseUri: https://api.example.com
      resources:
        - name: items  # the collection
          path: /items
          operations:
            - name: list-items
              method: GET
              # JSON is the default
              outputRawFormat: json
  exposes:
    - type: rest
      namespace: web
      port: 9000
      resources:
        - name: all
          path: /items/all
          operations:
            - name: list
              method: GET
              call: api.list-items  # straight through
"""


def _comment_columns_ignored(text: str) -> str:
    return re.sub(r"(?<=\S) +#", " #", text)


def test_comments_key_order_and_indentation_survive_both_directions() -> None:
    beta, findings = convert_text(COMMENTED, "beta5", "cap.yaml")
    assert beta is not None and not findings, [f.format() for f in findings]
    lines = _comment_columns_ignored(beta).splitlines()
    assert lines[:4] == [
        "# The items capability: a header comment",
        "ikanos: 1.0.0-beta5 # the dialect",
        "info:",
        "  display: Items # shown in catalogs",
    ]
    assert "    # the one upstream" in lines
    assert "        items: # the collection" in lines  # the name's comment goes to the key
    at = lines.index("              method: GET")
    assert lines[at + 1 : at + 3] == [
        "              # JSON is the default",
        "              outputRawFormat: json",
    ]
    assert lines[-1] == "              call: api.list-items # straight through"
    back, findings = convert_text(beta, "alpha2", "cap.yaml")
    assert back is not None and not findings, [f.format() for f in findings]
    assert _comment_columns_ignored(back) == _comment_columns_ignored(COMMENTED)


def test_a_string_the_loader_reads_as_another_type_stays_quoted() -> None:
    converted, _ = convert_text(
        ANONYMOUS.replace("GET\n", "GET\n              description: 'NO'\n", 1), "beta5", "c.yaml"
    )
    assert converted is not None and "description: 'NO'" in converted
    document = load_text(converted, "c.yaml").require()
    assert document.capability is not None
    assert document.capability.consumes[0].resources[0].operations[0].description == "NO"  # type: ignore[union-attr]


def test_only_convert_imports_the_comment_keeping_yaml_library(tmp_path: Path) -> None:
    source = tmp_path / "cap.yaml"
    source.write_text(COMMENTED)
    code = (
        "import sys\n"
        "from naftiko_runtime.cli import main\n"
        "from naftiko_runtime.server.assemble import build_app, build_runtime, capability\n"
        "from naftiko_runtime.spec.loader import load_file\n"
        f"document = load_file({str(source)!r}).require()\n"
        "runtime = build_runtime(capability(document.file, document, {}, {}))\n"
        "build_app(document.capability.exposes[0], runtime, host='127.0.0.1', port=1)\n"
        "served = any(m.startswith('ruamel') for m in sys.modules)\n"
        f"main(['convert', {str(source)!r}, '--to', 'beta5', '-o', {str(tmp_path / 'out.yaml')!r}])\n"
        "print(served, any(m.startswith('ruamel') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
