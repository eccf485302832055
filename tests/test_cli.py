"""``naftiko validate``: findings on stdout, exit codes 0 / 1 / 2, text and JSON formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from naftiko_runtime.cli import main

from .support import ROOT, requires_shared, write_seed

OWN = str(ROOT / "capabilities" / "durable-workflow.yaml")


def test_the_projects_capability_is_valid_even_strictly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--strict", OWN]) == 0
    assert capsys.readouterr().out.strip().endswith("valid (0 errors, 0 warnings)")


@requires_shared
def test_seed_warnings_exit_0_and_1_with_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = str(write_seed(tmp_path))
    assert main(["validate", seed]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 17 and lines[-1] == f"{seed}: valid (0 errors, 16 warnings)"
    assert all(
        line.startswith(f"{seed}:") and "  $." in line and "  warning: " in line for line in lines[:-1]
    )
    assert main(["validate", "--strict", seed]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"{seed}: invalid (16 errors, 0 warnings)"


def test_errors_exit_1_and_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("naftiko: 9.9.9\ncapability: {}\n")
    assert main(["validate", "--format", "json", OWN, str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(r["valid"], r["errors"]) for r in report] == [(True, 0), (False, 1)]
    finding = report[1]["findings"][0]
    assert (finding["line"], finding["column"], finding["path"], finding["severity"]) == (
        1,
        10,
        "$.naftiko",
        "error",
    )
    assert "unsupported naftiko version '9.9.9'" in finding["message"]


def test_usage_errors_exit_2() -> None:
    for args in (["validate"], ["validate", "--format", "xml", OWN], []):
        done = subprocess.run(
            [sys.executable, "-m", "naftiko_runtime", *args], capture_output=True, text=True
        )
        assert done.returncode == 2, (args, done.stderr)


def test_validate_a_folder_checks_each_capability_in_it_as_serve_finds_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-good.yaml").write_text(Path(OWN).read_text())
    (tmp_path / "b-bad.yaml").write_text("naftiko: 9.9.9\ncapability: {}\n")
    (tmp_path / "shared-consumes.yml").write_text("naftiko: 1.0.0-alpha1\nconsumes: []\n")
    (tmp_path / "notes.txt").write_text("not yaml")
    assert main(["validate", str(tmp_path)]) == 1
    verdicts = [
        line for line in capsys.readouterr().out.splitlines() if ": valid" in line or ": invalid" in line
    ]
    assert [v.split(": ")[0].rsplit("/", 1)[-1] for v in verdicts] == ["a-good.yaml", "b-bad.yaml"]
    assert verdicts[0].endswith("valid (0 errors, 0 warnings)") and "invalid" in verdicts[1]


def test_validate_an_empty_folder_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 1
    assert f"{tmp_path}: no capability files" in capsys.readouterr().err
