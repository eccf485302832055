"""``naftiko completion bash|zsh|fish``: the generated scripts complete commands, options, option choices and
file names in bash; the zsh and fish scripts are checked by content, and run in those shells where installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from naftiko_runtime.cli import build_parser, main
from naftiko_runtime.completion_cli import commands

from .support import ROOT


def _script(shell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["completion", shell]) == 0
    path = tmp_path / f"naftiko.{shell}"
    path.write_text(capsys.readouterr().out)
    return path


def _bash(script: Path, *words: str) -> list[str]:
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _naftiko; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture
def bash_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    return _script("bash", tmp_path, capsys)


def test_bash_completes_every_command_from_the_parser(bash_script: Path) -> None:
    every = [c.name for c in commands(build_parser())]
    assert {"validate", "serve", "call", "init", "completion", "import"} <= set(every)
    assert _bash(bash_script, "naftiko", "") == [*every, "--help", "--version"]
    assert _bash(bash_script, "naftiko", "ca") == ["call"]


def test_bash_completes_options_and_their_choices(bash_script: Path) -> None:
    assert _bash(bash_script, "naftiko", "serve", "--log-l") == ["--log-level"]
    assert _bash(bash_script, "naftiko", "serve", "--log-level", "w") == ["warning"]
    assert _bash(bash_script, "naftiko", "call", "http://x", "--kind", "") == ["rest", "mcp"]
    assert _bash(bash_script, "naftiko", "completion", "") == ["bash", "zsh", "fish"]
    assert _bash(bash_script, "naftiko", "import", "") == ["openapi"]


def test_bash_completes_file_names_for_paths_and_nothing_for_free_values(bash_script: Path) -> None:
    assert _bash(bash_script, "naftiko", "validate", "examples/hello") == ["examples/hello-mock.yaml"]
    assert _bash(bash_script, "naftiko", "serve", "--port", "") == []  # NAMESPACE=PORT: no guess


def test_zsh_script_registers_the_completion_through_bashcompinit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script("zsh", tmp_path, capsys)
    assert (
        "bashcompinit" in script.read_text()
        and "complete -o default -o filenames -F _naftiko naftiko" in (script.read_text())
    )
    if shutil.which("zsh"):
        program = f'source {script}; print -r -- "${{_comps[naftiko]}}"'
        done = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "_bash_complete -o default -o filenames -F _naftiko"


def test_fish_script_completes_commands_options_and_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script("fish", tmp_path, capsys)
    text = script.read_text()
    for command in commands(build_parser()):
        assert f"-a {command.name} " in text
    assert "-l log-level -x -a 'debug info warning error'" in text
    if shutil.which("fish"):
        program = (
            f"source {script}; complete -C 'naftiko val'; complete -C 'naftiko serve --log-level '; "
            "complete -C 'naftiko call --ki'"
        )
        done = subprocess.run(["fish", "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
        lines = done.stdout.splitlines()
        assert "validate\tcheck capability files and print every finding" in lines
        assert {"debug", "info", "warning", "error"} <= set(lines)
        assert "--kind\twhat a URL is" in lines
