"""The Ikanos dialect (``ikanos: 1.0.0-alpha3`` ... ``1.0.0-beta5``) builds the same model as alpha2."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from naftiko_runtime.cli import build_parser
from naftiko_runtime.errors import BindingError
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.server.plan import discover
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file, load_text

from .dialect_support import BETA, alpha_twin, beta_documents, fill_invented_names, meaning
from .support import requires_shared

BETA_DOCS = beta_documents()


def _rel(path: Path) -> str:
    return path.relative_to(BETA).as_posix()


#: corpus files refused at load by design: what each is built to trigger, and the first error we report
BY_DESIGN = {
    # lint fixtures written in the alpha2 spelling (label, functions, lists) to trip one spectral rule each
    "spec/imports/aggregate-duplicate-function-name.yaml": "names no consumes namespace 'weather-api'",
    "spec/imports/capability-aggregates-namespace-missing.yaml": "'namespace' is required",
    "spec/imports/capability-exposes-namespace-missing.yaml": "'namespace' is required",
    "spec/imports/exposes-namespace-missing.yaml": "'namespace' is required",
    "spec/imports/aggregates-namespace-missing.yaml": "'namespace' is required",
    "spec/imports/standalone-with-imports.yaml": "a shared file cannot import",
    "spec/imports/import-duplicate-alias.yaml": "imported consumer file ./weather-api.yml does not exist",
    "spec/imports/import-from-self.yaml": "imported consumer file . does not exist",
    "spec/imports/import-missing-fields.yaml": "'import' is required",
    # the negative twin of capability-valid.yml: mapped outputs written as a map
    "spec/capabilities/capability-spurious-name.yml": "expected an object, got the string 'spurious-property'",
    # tunnels are refused (fallback 'fail'); spectral-tunnel-fallback-direct-public.yaml only warns
    "schema/examples/reverse-tunnel-ziti.yml": "tunnels are not supported",
    "spec/rules/spectral-tunnel-identity-bound.yaml": "tunnels are not supported",
    "spec/rules/spectral-tunnel-identity-unbound.yaml": "tunnels are not supported",
    # designed to fail in the engine too: a ref to an aggregate function that does not exist
    "engine/aggregates/aggregate-invalid-ref.yaml": "ref 'unknown.nonexistent' names no aggregate function",
}

#: one temporary path is renamed in the beta twin (reference §2)
RENAMED = {"engine/skill-capability.yaml"}

TWINS = [(p, alpha_twin(p)) for p in BETA_DOCS if alpha_twin(p) is not None]


@requires_shared
def test_the_beta_corpus_is_there() -> None:
    assert len(BETA_DOCS) >= 80 and len(TWINS) >= 45


@requires_shared
@pytest.mark.parametrize("path", BETA_DOCS, ids=[_rel(p) for p in BETA_DOCS])
def test_beta_documents_load_or_fail_as_designed(path: Path) -> None:
    result = load_file(path)
    expected = BY_DESIGN.get(_rel(path))
    if expected is None:
        assert not result.errors(), [f.format() for f in result.errors()]
        assert result.document is not None
    else:
        assert result.errors(), f"{_rel(path)} should fail: {expected}"
        assert expected in result.errors()[0].message, [f.format() for f in result.errors()]


@requires_shared
@pytest.mark.parametrize(("beta", "alpha"), TWINS, ids=[_rel(b) for b, _ in TWINS])
def test_beta_documents_build_the_same_model_as_their_alpha2_twins(beta: Path, alpha: Path) -> None:
    if _rel(beta) in BY_DESIGN:
        return  # compared where they fail: above
    alpha_meaning = meaning(load_file(alpha).require())
    beta_meaning = fill_invented_names(meaning(load_file(beta).require()), alpha_meaning)
    if _rel(beta) in RENAMED:
        assert beta_meaning != alpha_meaning
        return
    assert beta_meaning == alpha_meaning


BETA_MINIMAL = """\
ikanos: "1.0.0-beta5"
info:
  display: Demo
  description: A demo capability
capability:
  consumes:
    - namespace: api
      type: http
      baseUri: https://api.example.com
      resources:
        items:
          path: /items/{{id}}
          operations:
            get-item:
              method: GET
              display: Get one item
              inputParameters:
                id:
                  in: path
  exposes:
    - type: mcp
      namespace: tools
      port: 9000
      tools:
        get-item:
          description: One item
          inputParameters:
            id:
              type: string
              description: The id
          call: api.get-item
          with:
            id: tools.id
"""


def messages(text: str, file: str = "cap.yaml") -> list[str]:
    return [f.format() for f in load_text(text, file).findings]


def test_keys_become_names_and_display_becomes_label() -> None:
    doc = load_text(BETA_MINIMAL, "cap.yaml").require()
    assert doc.naftiko == "1.0.0-beta5" and doc.info is not None and doc.info.label == "Demo"
    assert doc.capability is not None
    consumer = doc.capability.consumes[0]
    resource = consumer.resources[0]
    assert (resource.name, resource.operations[0].name, resource.operations[0].label) == (
        "items",
        "get-item",
        "Get one item",
    )
    assert resource.operations[0].input_parameters[0].name == "id"
    mcp = doc.capability.exposes[0]
    assert isinstance(mcp, m.ExposesMcp) and mcp.tools[0].name == "get-item"


def test_model_paths_are_the_paths_of_the_beta_document() -> None:
    doc = load_text(BETA_MINIMAL, "cap.yaml").require()
    assert doc.capability is not None
    op = doc.capability.consumes[0].resources[0].operations[0]
    assert op.path == ("capability", "consumes", 0, "resources", "items", "operations", "get-item")
    assert op.input_parameters[0].path == (*op.path, "inputParameters", "id")


def test_builder_errors_point_into_the_beta_document() -> None:
    found = messages(BETA_MINIMAL.replace("method: GET", "method: FETCH"))
    assert found == [
        "cap.yaml:15:23  $.capability.consumes[0].resources.items.operations['get-item'].method  "
        "error: 'FETCH' is not one of GET, POST, PUT, PATCH, DELETE"
    ]


def test_cross_reference_errors_point_into_the_beta_document() -> None:
    found = messages(BETA_MINIMAL.replace("call: api.get-item", "call: api.get-thing"))
    assert len(found) == 1
    assert found[0].startswith("cap.yaml:31:17  $.capability.exposes[0].tools['get-item'].call  error: ")


def test_renamed_keys_are_reported_under_their_beta_name() -> None:
    found = messages(BETA_MINIMAL.replace("display: Get one item", "display: 3"))
    assert found == [
        "cap.yaml:16:24  $.capability.consumes[0].resources.items.operations['get-item'].display  "
        "error: expected a string, got the integer 3"
    ]


def test_a_name_inside_a_keyed_entry_loses_to_the_key() -> None:
    text = BETA_MINIMAL.replace(
        "        get-item:\n          description",
        "        get-item:\n          name: other\n          description",
    )
    result = load_text(text, "c")
    assert result.ok
    assert any("'name' 'other' is ignored: the key 'get-item'" in f.message for f in result.warnings())


def test_both_root_keys_are_refused() -> None:
    found = messages("naftiko: 1.0.0-alpha2\n" + BETA_MINIMAL)
    assert len(found) == 1 and "not both naftiko and ikanos" in found[0]


@pytest.mark.parametrize(
    "version", ["1.0.0-alpha3", "1.0.0-alpha4", "1.0.0-beta1", "1.0.0-beta4", "1.0.0-beta5"]
)
def test_every_ikanos_version_is_read(version: str) -> None:
    assert load_text(BETA_MINIMAL.replace("1.0.0-beta5", version), "cap.yaml").ok


def test_an_unknown_ikanos_version_is_refused_with_the_versions_read() -> None:
    found = messages(BETA_MINIMAL.replace("1.0.0-beta5", "2.0.0"))
    assert len(found) == 1
    assert found[0].startswith("cap.yaml:1:9  $.ikanos  error: unsupported ikanos version '2.0.0'")
    assert "ikanos: 1.0.0-alpha3" in found[0] and "naftiko: 1.0.0-alpha1, 1.0.0-alpha2" in found[0]


TUNNEL = """\
      tunnel:
        type: ziti
        service: api-service
        identity: "{{ZITI_IDENTITY}}"
"""


def test_a_tunnel_is_refused_at_load_with_its_location() -> None:
    found = messages(BETA_MINIMAL.replace("      resources:\n", TUNNEL + "      resources:\n", 1))
    assert found == [
        "cap.yaml:10:7  $.capability.consumes[0].tunnel  error: tunnels are not supported by this runtime "
        "(fallback 'fail' would refuse every call)"
    ]


def test_a_tunnel_with_direct_fallback_only_warns() -> None:
    text = BETA_MINIMAL.replace(
        "      resources:\n", TUNNEL + "        fallback: direct\n      resources:\n", 1
    )
    result = load_text(text, "cap.yaml")
    assert result.ok and "baseUri is dialled directly" in result.warnings()[0].message
    assert not result.strict().ok


SHARED_BETA = """\
ikanos: 1.0.0-beta5
consumes:
  - namespace: api
    type: http
    baseUri: https://api.example.com
    resources:
      items:
        path: /items
        operations:
          list-items: {method: GET}
"""

SHARED_ALPHA = """\
naftiko: 1.0.0-alpha2
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
"""

ALPHA_IMPORTER = """\
naftiko: 1.0.0-alpha2
capability:
  consumes:
    - location: ./shared.yml
      import: api
  exposes:
    - type: mcp
      namespace: tools
      port: 0
      tools:
        - name: list-items
          description: All items
          call: api.list-items
"""

BETA_IMPORTER = """\
ikanos: 1.0.0-beta5
capability:
  consumes:
    - from: ./shared.yml
      import: api
      as: store
  exposes:
    - type: mcp
      namespace: tools
      port: 0
      tools:
        list-items:
          description: All items
          call: store.list-items
"""


@pytest.mark.parametrize("importer", ["alpha", "beta"])
@pytest.mark.parametrize("shared", ["alpha", "beta"])
def test_imports_resolve_across_dialects(tmp_path: Path, importer: str, shared: str) -> None:
    (tmp_path / "shared.yml").write_text(SHARED_BETA if shared == "beta" else SHARED_ALPHA)
    (tmp_path / "cap.yml").write_text(ALPHA_IMPORTER if importer == "alpha" else BETA_IMPORTER)
    result = load_file(tmp_path / "cap.yml")
    assert result.ok, [f.format() for f in result.findings]
    assert result.document is not None and result.document.capability is not None
    consumer = result.document.capability.consumes[0]
    assert consumer.resources[0].operations[0].name == "list-items"
    assert consumer.namespace == ("store" if importer == "beta" else "api")


SHARED_EXPOSES = """\
ikanos: 1.0.0-beta5
exposes:
  - type: mcp
    namespace: shared-tools
    port: 0
    tools:
      list-items:
        description: All items
        call: store.list-items
"""


def test_exposes_are_imported_and_checked_in_the_importing_capability(tmp_path: Path) -> None:
    (tmp_path / "shared.yml").write_text(SHARED_BETA)
    (tmp_path / "servers.yml").write_text(SHARED_EXPOSES)
    importer = (
        BETA_IMPORTER.split("  exposes:")[0]
        + "  exposes:\n    - from: ./servers.yml\n      import: shared-tools\n      as: mine\n"
    )
    (tmp_path / "cap.yml").write_text(importer)
    doc = load_file(tmp_path / "cap.yml").require()
    assert doc.capability is not None
    (mcp,) = doc.capability.exposes
    assert (
        isinstance(mcp, m.ExposesMcp) and mcp.namespace == "mine" and mcp.tools[0].call == "store.list-items"
    )


def test_an_import_of_a_missing_namespace_names_what_the_file_has(tmp_path: Path) -> None:
    (tmp_path / "servers.yml").write_text(SHARED_EXPOSES)
    importer = (
        BETA_IMPORTER.split("  exposes:")[0] + "  exposes:\n    - from: ./servers.yml\n      import: nope\n"
    )
    (tmp_path / "shared.yml").write_text(SHARED_BETA)
    (tmp_path / "cap.yml").write_text(importer)
    found = [f.format() for f in load_file(tmp_path / "cap.yml", display_name="cap.yml").errors()]
    assert found[0] == (
        "cap.yml:9:15  $.capability.exposes[0].import  error: ./servers.yml has no exposes namespace 'nope' "
        "(it has: shared-tools)"
    )


# --- the lenient/strict split and serving ------------------------------------------------------------------


@cache
def _official() -> Draft202012Validator:
    return Draft202012Validator(
        json.loads((BETA / "schema" / "ikanos-schema.json").read_text(encoding="utf-8"))
    )


@requires_shared
@pytest.mark.parametrize("path", BETA_DOCS, ids=[_rel(p) for p in BETA_DOCS])
def test_schema_deviations_are_warnings_exactly_where_the_official_schema_refuses(path: Path) -> None:
    result = load_file(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    officially_valid = _official().is_valid({**data, "ikanos": "1.0.0-beta5"})
    if officially_valid:
        # what remains are the runtime's own notes, not schema deviations: a tunnel dialled directly, and
        # what a format without outputSchema is read as
        notes = ("tunnel", "without outputSchema")
        assert all(any(n in f.message for n in notes) for f in result.warnings()), [
            f.format() for f in result.warnings()
        ]
    else:
        assert result.findings, "the official schema refuses this document: we must say something"
        if result.ok:
            assert not result.strict().ok


SERVABLE = [p for p in BETA_DOCS if "\ncapability:" in p.read_text() and _rel(p) not in BY_DESIGN]


class _AnyEnvironment(dict[str, str]):
    """Every variable a bind asks for exists (the corpus names its own)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return f"value-of-{key.lower()}"


@requires_shared
@pytest.mark.parametrize("path", SERVABLE, ids=[_rel(p) for p in SERVABLE])
def test_beta_capabilities_build_their_servers(path: Path) -> None:
    doc = load_file(path).require()
    try:
        cap = capability(doc.file, doc, _AnyEnvironment())
    except BindingError as exc:
        assert "does not exist" in str(exc)  # a bind file the corpus does not ship
        return
    runtime = build_runtime(cap)
    built = []
    for adapter in cap.exposes:
        if isinstance(adapter, m.ExposesRest) or (
            isinstance(adapter, m.ExposesMcp) and adapter.transport == "http"
        ):
            build_app(adapter, runtime, host="127.0.0.1", port=1)
            built.append(adapter.type)
    served_over_http = [a for a in cap.exposes if isinstance(a, m.ExposesRest | m.ExposesMcp)]
    assert len(built) == len([a for a in served_over_http if getattr(a, "transport", "http") == "http"])


def test_a_mixed_folder_is_discovered_in_both_dialects(tmp_path: Path) -> None:
    (tmp_path / "shared.yml").write_text(SHARED_BETA)
    (tmp_path / "alpha.yml").write_text(ALPHA_IMPORTER)
    (tmp_path / "beta.yml").write_text(BETA_IMPORTER.replace("namespace: tools", "namespace: beta-tools"))
    found = discover([tmp_path])
    assert [p.name for p in found] == ["alpha.yml", "beta.yml"]
    assert all(load_file(p).ok for p in found)


def test_validate_help_names_the_versions_read(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["validate", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "naftiko: 1.0.0-alpha1, 1.0.0-alpha2, 1.0.0-alpha3" in shown
    assert "ikanos: 1.0.0-alpha3, 1.0.0-alpha4, 1.0.0-beta1" in shown and "1.0.0-beta5" in shown
