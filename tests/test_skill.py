"""The skill adapter over real sockets: catalog, detail, contents, files, download, and a location folder
that nothing outside of can be read through."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from naftiko_runtime.engine import Runtime
from naftiko_runtime.exposes.skill import build_skill_app, check_skill
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_text

from .support import CONFORMANCE, requires_shared, run_asgi

FIXTURE = CONFORMANCE / "capabilities" / "framework-alpha2" / "skill-capability.yaml"
MISSING_FOLDER = "file:///tmp/naftiko-test-skills/order-management"


def _skill_adapter(doc: m.NaftikoDocument) -> m.ExposesOther:
    assert doc.capability is not None
    [adapter] = [a for a in doc.capability.exposes if isinstance(a, m.ExposesOther) and a.type == "skill"]
    return adapter


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("skills")
    outside = base / "secret.txt"
    outside.write_text("not for agents")
    root = base / "order-management"
    (root / "refs").mkdir(parents=True)
    (root / "SKILL.md").write_text("---\nname: order-management\n---\n# Orders\n")
    (root / "order-guide.md").write_text("Ask for the order id first.\n")
    (root / "refs" / "statuses.txt").write_text("open\nshipped\n")
    (root / "escape.txt").symlink_to(outside)
    (root / "refs-out").symlink_to(base)
    return root


@pytest.fixture(scope="module")
def skills(folder: Path) -> Iterator[httpx.Client]:
    if not FIXTURE.is_file():
        pytest.skip(f"the shared corpus is not beside the checkout ({FIXTURE} is missing)")
    text = FIXTURE.read_text().replace(MISSING_FOLDER, folder.as_uri())
    result = load_text(text, "skill-capability.yaml")
    assert result.ok and not result.findings, [f.format() for f in result.findings]
    doc = result.require()
    app = build_skill_app(_skill_adapter(doc), Runtime(doc), host="127.0.0.1", port=0)
    with run_asgi(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def test_catalog_lists_every_skill_with_its_tool_names(skills: httpx.Client) -> None:
    assert skills.get("/skills").json() == {
        "count": 2,
        "skills": [
            {
                "name": "order-management",
                "description": "Tools for managing orders",
                "tools": ["list-orders", "order-guide"],
            },
            {
                "name": "onboarding-guide",
                "description": "A purely descriptive skill with no tools",
                "tools": [],
            },
        ],
    }


def test_detail_carries_front_matter_and_how_to_invoke_each_tool(skills: httpx.Client) -> None:
    assert skills.get("/skills/order-management").json() == {
        "name": "order-management",
        "description": "Tools for managing orders",
        "argument-hint": "Use for order operations",
        "allowed-tools": "list-orders",
        "tools": [
            {
                "name": "list-orders",
                "description": "List all orders in the system",
                "type": "derived",
                "invocationRef": {"targetNamespace": "orders-rest", "action": "list-orders", "mode": "rest"},
            },
            {
                "name": "order-guide",
                "description": "Guide for working with orders",
                "type": "instruction",
                "instruction": "order-guide.md",
            },
        ],
    }


def test_unknown_skill_and_descriptive_skill_without_a_folder(skills: httpx.Client) -> None:
    missing = skills.get("/skills/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "no skill 'nope'"
    assert skills.get("/skills/onboarding-guide").json()["tools"] == []
    assert (
        skills.get("/skills/onboarding-guide/contents").json()["detail"]
        == "skill 'onboarding-guide' has no location"
    )


def test_contents_list_the_files_inside_the_folder_only(skills: httpx.Client) -> None:
    listing = skills.get("/skills/order-management/contents").json()
    assert listing == {
        "name": "order-management",
        "files": [
            {"path": "SKILL.md", "size": 40, "type": "text/markdown"},
            {"path": "order-guide.md", "size": 28, "type": "text/markdown"},
            {"path": "refs/statuses.txt", "size": 13, "type": "text/plain"},
        ],
    }


def test_a_file_is_served_as_is(skills: httpx.Client) -> None:
    response = skills.get("/skills/order-management/contents/refs/statuses.txt")
    assert response.status_code == 200 and response.text == "open\nshipped\n"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "refs/../../secret.txt",
        "refs/%2e%2e/%2e%2e/secret.txt",
        "%2Fetc%2Fpasswd",
        "escape.txt",
        "refs-out/secret.txt",
        "refs",
        "nothing.md",
        "..%5csecret.txt",
    ],
)
def test_nothing_outside_the_folder_can_be_read(skills: httpx.Client, path: str) -> None:
    response = skills.get("/skills/order-management/contents/" + path)
    assert response.status_code == 404, response.text
    assert "not for agents" not in response.text


def test_download_zips_the_folder(skills: httpx.Client) -> None:
    response = skills.get("/skills/order-management/download")
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="order-management.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["SKILL.md", "order-guide.md", "refs/statuses.txt"]
    assert archive.read("order-guide.md") == b"Ask for the order id first.\n"


@requires_shared
def test_the_corpus_fixture_warns_that_its_folder_does_not_exist() -> None:
    result = load_text(FIXTURE.read_text(), "skill-capability.yaml")
    doc = result.require()
    [warning] = list(check_skill(_skill_adapter(doc), doc))
    assert warning[0] == "warning" and "order-management does not exist" in warning[2]


BAD = """\
naftiko: 1.0.0-alpha2
info: {label: Bad skills, description: tools from nowhere}
capability:
  exposes:
  - type: mcp
    namespace: tools
    port: 9000
    tools: [{name: hello, description: says hello, outputParameters: [{name: x, type: string, value: hi}]}]
  - type: skill
    namespace: skills
    port: 9001
    skills:
    - name: s
      description: broken
      tools:
      - {name: a, description: a, from: {sourceNamespace: nowhere, action: hello}}
      - {name: b, description: b, from: {sourceNamespace: tools, action: goodbye}}
      - {name: c, description: c, instruction: c.md}
"""


def test_tools_from_unknown_adapters_or_actions_and_instructions_without_a_folder_are_errors() -> None:
    doc = load_text(BAD, "bad.yaml").require()
    found: list[Any] = [(sev, msg) for sev, _, msg, _ in check_skill(_skill_adapter(doc), doc)]
    assert found == [
        ("error", "no REST or MCP adapter 'nowhere' (there are: tools)"),
        ("error", "mcp adapter 'tools' has no 'goodbye' (it has: hello)"),
        ("error", "an instruction tool needs the skill's location"),
    ]
