"""The README, run: its quick start (``scripts/demo``) comes up and its command blocks work against it.

Every ``sh`` block of the README is read line by line (continuations joined, comments dropped) and each
command is checked by what it runs: ``curl`` against the demo's REST port is sent to a real demo started
by ``scripts/demo`` on ephemeral ports, with the ids the earlier calls returned; ``naftiko`` and
``naftiko-inngest-dev`` command lines must parse with today's CLI (and ``naftiko validate`` runs);
``scripts/...`` must exist. A command of any other kind must be one of the outside tools listed here, so
a new kind of block cannot slip in unchecked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from naftiko_inngest_dev.__main__ import build_parser as inngest_dev_parser
from naftiko_runtime.cli import build_parser

from .support import ROOT, free_port

README = ROOT / "README.md"
#: commands the README shows for tools outside this project: checked by nobody here, named on purpose
OUTSIDE = {"npx", "pipx", "uv", "export", "docker", "kill", "claude"}
#: ``eval "$(naftiko ...)"``: the inner command is checked like any naftiko line
EVAL = re.compile(r'^eval "\$\((naftiko [^)]*)\)"$')
DEMO_REST = "localhost:8080"
DEMO_MCP = "127.0.0.1:9090"


def sh_commands(text: str) -> list[str]:
    """The commands of every ```sh block: continuation lines joined, comments and blank lines dropped."""
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        pending = ""
        for raw in block.splitlines():
            line = raw.rstrip()
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            command = re.split(r"\s#\s", command, maxsplit=1)[0].rstrip()
            commands.append(command.removesuffix("&").strip())
    return commands


def _without_placeholders(command: str) -> list[str]:
    """A usage line's words without its ``[optional ...]`` parts (shown as choices, not typed)."""
    return shlex.split(re.sub(r"\s\[[^\]]*\]", "", command))


def _unwrapped(command: str) -> str:
    """An ``eval "$(naftiko ...)"`` line's naftiko command; a command's output redirection left off."""
    inner = EVAL.match(command)
    return re.split(r"\s>\s", inner.group(1) if inner else command, maxsplit=1)[0]


COMMANDS = [_unwrapped(c) for c in sh_commands(README.read_text(encoding="utf-8"))]


def test_the_readme_has_command_blocks_and_each_is_of_a_known_kind() -> None:
    assert len(COMMANDS) > 20
    kinds = {shlex.split(c)[0] for c in COMMANDS}
    assert kinds <= OUTSIDE | {"curl", "naftiko", "naftiko-inngest-dev", "scripts/demo", "scripts/test"}, (
        kinds
    )


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("naftiko ")])
def test_each_naftiko_command_line_parses_with_the_cli(command: str) -> None:
    words = _without_placeholders(command)[1:]
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:  # --help and --version exit 0; a usage error exits 2
        assert exc.code == 0, command


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("naftiko-inngest-dev ")])
def test_each_stand_in_command_line_parses(command: str) -> None:
    inngest_dev_parser().parse_args(_without_placeholders(command)[1:])


def test_readme_validate_lines_on_this_repository_pass(capsys: pytest.CaptureFixture[str]) -> None:
    from naftiko_runtime.cli import main

    ran = 0
    for command in COMMANDS:
        words = shlex.split(command)
        if words[:2] == ["naftiko", "validate"] and all((ROOT / w).exists() for w in words[2:]):
            cwd = Path.cwd()
            os.chdir(ROOT)
            try:
                assert main(words[1:]) == 0, capsys.readouterr().out
            finally:
                os.chdir(cwd)
            ran += 1
    assert ran >= 1


def test_scripts_the_readme_runs_exist() -> None:
    for command in COMMANDS:
        first = shlex.split(command)[0]
        if first.startswith("scripts/"):
            assert os.access(ROOT / first, os.X_OK), first


# --- the quick start, run ----------------------------------------------------------------------------------


class Demo:
    def __init__(self, rest: int, mcp: int, seconds: float, stderr: str) -> None:
        self.rest, self.mcp, self.seconds, self.stderr = rest, mcp, seconds, stderr


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """``scripts/demo`` on ephemeral ports, in the virtualenv the tests run in (already installed)."""
    venv = Path(sys.prefix)
    if not (venv / "bin" / "naftiko").exists():
        pytest.skip("the tests do not run in a virtualenv with naftiko installed")
    with (ROOT / "pyproject.toml").open("rb") as pyproject:
        stamp = subprocess.run(["cksum"], stdin=pyproject, capture_output=True, check=True)
    (venv / ".naftiko-demo-installed").write_bytes(stamp.stdout)
    rest, mcp, upstream = free_port(), free_port(), free_port()
    # every adapter of the demo's file on a free port (the documented ones may be taken on a shared host)
    exposes = yaml.safe_load((ROOT / "capabilities" / "durable-workflow.yaml").read_text())["capability"][
        "exposes"
    ]
    ports = {a.get("namespace") or a["type"]: free_port() for a in exposes} | {
        "workflows-rest": rest,
        "workflows-mcp": mcp,
    }
    env = {**os.environ, "VENV": str(venv), "INNGEST_PORT": str(upstream)}
    env.pop("INNGEST_EVENT_KEY", None)
    env.pop("INNGEST_SIGNING_KEY", None)
    started = time.monotonic()
    process = subprocess.Popen(
        [
            str(ROOT / "scripts" / "demo"),
            *(arg for ns, port in ports.items() for arg in ("--port", f"{ns}={port}")),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        for line in process.stderr:
            seen.append(line)
            if "ready:" in line:
                break
        seconds = time.monotonic() - started
        assert any("ready:" in line for line in seen), "".join(seen)
        _wait_for_port(upstream)  # the stand-in starts beside the server: the calls below need both
        yield Demo(rest, mcp, seconds, "".join(seen))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        process.stderr.close()


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.02)


def _curl(command: str, port: int, ids: dict[str, str]) -> tuple[int, str]:
    for placeholder, value in ids.items():
        command = command.replace(placeholder, value)
    command = command.replace(DEMO_REST, f"127.0.0.1:{port}")
    done = subprocess.run(
        f"{command} -w '\\n%{{http_code}}' --max-time 10",
        shell=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, (command, done.stderr)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def test_quick_start_demo_is_ready_and_says_where_things_are(demo: Demo) -> None:
    assert "npx -y @modelcontextprotocol/inspector" in demo.stderr
    assert "export PATH=" in demo.stderr
    status, body = _curl(f"curl -s {DEMO_REST}/", demo.rest, {})
    assert status == 200 and json.loads(body)["links"]["docs"] == "/docs"


def test_every_readme_curl_against_the_demo_answers(demo: Demo) -> None:
    """Each documented call reaches a route and the stand-in: a 2xx, or the 409 the README promises for an
    ended run or a reused key; never a 404 (a route that moved) or a 4xx/5xx the README does not mention."""
    ids: dict[str, str] = {}
    ran = 0
    for command in (c for c in COMMANDS if c.startswith("curl") and DEMO_REST in c):
        if "<run id>" in command and "<run id>" not in ids:
            pytest.fail(f"the README uses a run id before a call that returns one: {command}")
        if "<event id>" in command and "<event id>" not in ids:
            pytest.fail(f"the README uses an event id before a call that returns one: {command}")
        if "<run id>" in command and "/rerun" in command:
            _wait_until_finished(demo, ids["<run id>"])
        status, body = _curl(command, demo.rest, ids)
        ran += 1
        allowed = {200, 201, 202, 409} if "/cancel" in command else {200, 201, 202}
        assert status in allowed, (command, status, body)
        if "/invoke" in command:
            ids["<run id>"] = json.loads(body)["runId"]
        if re.search(r"/events\s", command) and "eventIds" in body:
            ids["<event id>"] = json.loads(body)["eventIds"][0]
    assert ran >= 10


def _wait_until_finished(demo: Demo, run_id: str) -> None:
    """The README reruns a run from a step it reached: give the welcome run its ~2 s to get there."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        _, body = _curl(f"curl -s {DEMO_REST}/v1/workflows/runs/{run_id}", demo.rest, {})
        if '"COMPLETED"' in body or '"FAILED"' in body:
            return
        time.sleep(0.3)


def test_every_readme_naftiko_call_and_init_runs(
    demo: Demo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``naftiko call``, ``init`` and ``export`` lines run in README order: calls against the demo's REST
    and MCP adapters or a file in this process, files written to /tmp written to a test folder instead."""
    from naftiko_runtime.cli import main

    ran = 0
    kinds = ("naftiko call ", "naftiko init ", "naftiko export ")
    for command in (c for c in COMMANDS if c.startswith(kinds)):
        if command.startswith("naftiko export ") and "/tmp/" not in command:
            continue
        command = command.replace(DEMO_REST, f"127.0.0.1:{demo.rest}")
        command = command.replace(DEMO_MCP, f"127.0.0.1:{demo.mcp}")
        command = re.sub(r"(?<=[\s=])/tmp(?=[/\s]|$)", str(tmp_path), command)
        cwd = Path.cwd()
        os.chdir(ROOT)
        try:
            code = main(shlex.split(command)[1:])
        finally:
            os.chdir(cwd)
        out, err = capsys.readouterr()
        assert code == 0, (command, out, err)
        assert out.strip() or command.startswith("naftiko export "), command
        ran += 1
    assert ran >= 8 and (tmp_path / "greeter.yaml").exists() and (tmp_path / "workflows.yaml").exists()
