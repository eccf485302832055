"""The adapter registry: which types are served, where, and what each reports at load with file:line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from naftiko_runtime import cli
from naftiko_runtime.engine import Runtime
from naftiko_runtime.errors import ConfigError
from naftiko_runtime.exposes import ADAPTERS, AdapterKind, adapter_kind, check_adapters
from naftiko_runtime.exposes.inbound import INBOUND, protect
from naftiko_runtime.server.assemble import build_app
from naftiko_runtime.server.assemble import load as load_for_serving
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import LoadResult, load_file, load_text

from .support import run_asgi

HEAD = """\
naftiko: 1.0.0-alpha2
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: http://upstream.example
    resources:
    - name: items
      path: /items
      operations:
      - name: list-items
        method: GET
  exposes:
"""

REST = """\
  - type: rest
    namespace: shop
    port: 8080
    resources:
    - path: /items
      operations:
      - method: GET
        call: api.list-items
"""

SKILL = """\
  - type: skill
    port: 3002
    namespace: shop-skills
    skills:
    - name: browsing
      description: Browse the items
      tools:
      - name: list-items
        description: List the items
        from:
          sourceNamespace: shop
          action: list-items
"""


def load(exposes: str, tmp_path: Path | None = None) -> LoadResult:
    text = HEAD + exposes
    if tmp_path is None:
        result = load_text(text, "cap.yaml")
    else:
        file = tmp_path / "cap.yaml"
        file.write_text(text)
        result = load_file(file)
    assert result.ok, [f.format() for f in result.findings]
    return result


def line_of(needle: str, text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_rest_mcp_and_control_are_served_at_their_paths() -> None:
    assert {t: (k.path, k.stdio is not None) for t, k in ADAPTERS.items()} == {
        "rest": ("/", False),
        "mcp": ("/mcp", True),
        "control": ("/", False),
        "skill": ("/", False),
    }


@pytest.fixture
def no_skill_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every adapter type of the spec has a row now: take the skill row out to have one without."""
    monkeypatch.delitem(ADAPTERS, "skill")  # type: ignore[attr-defined]  # the registry is read-only by type


@pytest.mark.usefixtures("no_skill_row")
def test_an_adapter_type_without_a_row_is_reported_where_it_is_declared() -> None:
    result = load(REST + SKILL)
    doc = result.document
    assert doc is not None and doc.capability is not None
    assert [adapter_kind(a) is not None for a in doc.capability.exposes] == [True, False]
    findings = check_adapters(result)
    assert [f.format() for f in findings] == [
        f"cap.yaml:{line_of('- type: skill', HEAD + REST + SKILL)}:11  "
        "$.capability.exposes[1].type  warning: skill adapter 'shop-skills' is not served by this "
        "runtime (it serves control, mcp, rest)"
    ]
    assert result.with_findings(findings).ok  # a warning: the rest of the capability is still served
    assert not result.with_findings(findings).strict().ok


def test_inbound_authentication_that_cannot_be_enforced_is_a_load_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(INBOUND, "digest")  # every alpha2 type has a row: take one away
    kind, auth = "digest", "type: digest\n      username: ann\n      password: secret"
    exposes = REST.replace("    port: 8080\n", f"    port: 8080\n    authentication:\n      {auth}\n")
    result = load(exposes)
    findings = check_adapters(result)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.severity == "error" and finding.json_path == "$.capability.exposes[0].authentication.type"
    assert finding.line == (HEAD + exposes).splitlines().index(f"      {auth.splitlines()[0]}") + 1
    assert f"{kind} inbound authentication is not supported by this runtime" in finding.message
    assert not result.with_findings(findings).ok
    # and serving it anyway is refused with the same words, as configuration, not a crash
    assert result.document is not None and result.document.capability is not None
    adapter = result.document.capability.exposes[0]
    assert isinstance(adapter, m.ExposesRest) and adapter.authentication is not None

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("never reached")

    with pytest.raises(ConfigError, match=f"{kind} inbound authentication is not supported"):
        protect(app, adapter, [])


def test_oauth2_is_enforced_so_it_raises_no_finding() -> None:
    auth = (
        "type: oauth2\n      authorizationServerUri: https://as.example\n      resource: https://shop.example"
    )
    result = load(REST.replace("    port: 8080\n", f"    port: 8080\n    authentication:\n      {auth}\n"))
    assert check_adapters(result) == []


def test_an_input_pattern_this_runtime_cannot_compile_is_a_warning_at_its_line() -> None:
    exposes = REST.replace(
        "      - method: GET\n",
        "      - method: GET\n        inputParameters:\n"
        "        - {name: q, in: query, type: string, pattern: '(?<=a+)b'}\n",
    )
    result = load(exposes)
    findings = check_adapters(result)
    assert [(f.severity, f.json_path) for f in findings] == [
        ("warning", "$.capability.exposes[0].resources[0].operations[0].inputParameters[0].pattern")
    ]
    assert "query parameter 'q': pattern '(?<=a+)b' is not a regular expression" in findings[0].message


def test_missing_mcp_resource_and_prompt_files_are_load_errors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    mcp = """\
  - type: mcp
    namespace: shop-mcp
    port: 9090
    tools:
    - name: list-items
      description: List the items
      call: api.list-items
    resources:
    - name: docs
      uri: docs://shop
      description: the docs
      location: file:///./docs
    - name: missing
      uri: docs://missing
      description: not there
      location: file:///./nowhere
    prompts:
    - name: greet
      description: a greeting
      location: file:///./greet.md
"""
    result = load(mcp, tmp_path)
    findings = check_adapters(result)
    assert [(f.severity, f.json_path, f.message) for f in findings] == [
        (
            "error",
            "$.capability.exposes[0].resources[1].location",
            "MCP resource 'missing': file:///./nowhere does not exist",
        ),
        (
            "error",
            "$.capability.exposes[0].prompts[0].location",
            "MCP prompt 'greet': file:///./greet.md is not a file",
        ),
    ]
    (tmp_path / "nowhere").write_text("x")
    (tmp_path / "greet.md").write_text("hello")
    assert check_adapters(load(mcp, tmp_path)) == []


def test_the_registry_does_not_import_the_mcp_sdk_until_an_mcp_adapter_is_built() -> None:
    code = (
        "import sys\n"
        "from naftiko_runtime.exposes import ADAPTERS\n"
        "assert ADAPTERS['mcp'].path == '/mcp'\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.usefixtures("no_skill_row")
def test_serve_and_validate_report_the_unserved_adapter_and_the_unenforceable_auth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(INBOUND, "digest")  # every alpha2 type has a row: take one away
    digest = "    authentication: {type: digest, username: ann, password: pw}\n"
    text = HEAD + REST.replace("    port: 8080\n", "    port: 8080\n" + digest) + SKILL
    path = tmp_path / "cap.yaml"
    path.write_text(text)
    skill_line = line_of("- type: skill", text)
    auth_line = line_of("authentication:", text)

    served = load_for_serving(path)  # what `naftiko serve` loads: the auth refuses, the skill warns
    assert [(f.severity, f.line) for f in served.findings] == [("error", auth_line), ("warning", skill_line)]
    assert not served.ok

    assert cli.main(["validate", str(path)]) == 0  # the document is valid: both are warnings here
    out = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in out[:-1]] == [f"{path}:{auth_line}:28", f"{path}:{skill_line}:11"]
    assert out[-1] == f"{path}: valid (0 errors, 2 warnings)"


@pytest.mark.usefixtures("no_skill_row")
def test_a_new_adapter_type_is_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``skill`` adapter: its row alone makes it served (no other module changes)."""

    def build_skill(
        adapter: m.ExposesOther, runtime: Runtime, *, host: str, port: int, allow_hosts: Sequence[str] = ()
    ) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await PlainTextResponse(f"{adapter.namespace} up on {port}")(scope, receive, send)

        return app

    skill = "  - type: skill\n    namespace: ops\n    port: 9999\n"
    unserved = "skill adapter 'ops' is not served by this runtime (it serves control, mcp, rest)"
    assert [f.message for f in check_adapters(load(REST + skill))] == [unserved]
    row = AdapterKind("skill", m.ExposesOther, build_skill, path="/")
    monkeypatch.setitem(ADAPTERS, "skill", row)  # type: ignore[index]  # the registry is read-only by type
    result = load(REST + skill)
    assert check_adapters(result) == []
    doc = result.document
    assert doc is not None and doc.capability is not None
    adapter = doc.capability.exposes[1]
    assert adapter_kind(adapter) is row
    runtime = Runtime(doc)
    with run_asgi(build_app(adapter, runtime, host="127.0.0.1", port=9999)) as url:
        assert httpx.get(url + "/health").text == "ops up on 9999"
