"""Colour only where a terminal shows it: the rules (``NO_COLOR``, ``FORCE_COLOR``, ``TERM=dumb``, a TTY),
coloured JSON that is still the same JSON, validate's verdicts and serve's start-up log lines."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from naftiko_runtime.cli import main
from naftiko_runtime.observability.logs import formatter
from naftiko_runtime.terminal import PLAIN, Style, wants_colour

from .support import ROOT

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "environ", "expected"),
    [
        (_Tty(), {}, True),
        (io.StringIO(), {}, False),
        (_Tty(), {"NO_COLOR": "1"}, False),
        (_Tty(), {"TERM": "dumb"}, False),
        (io.StringIO(), {"FORCE_COLOR": "1"}, True),
        (io.StringIO(), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ],
)
def test_colour_is_wanted_on_a_terminal_unless_no_color(
    stream: io.StringIO, environ: dict[str, str], expected: bool
) -> None:
    assert wants_colour(stream, environ) is expected


def test_coloured_json_is_the_same_json_once_the_colours_are_removed() -> None:
    value = {"a": 'x: 1, "quoted" 2', "n": -1.5e3, "t": True, "z": None, "l": [1, "two"]}
    coloured = Style(True).json(value)
    assert ANSI.search(coloured)
    assert json.loads(ANSI.sub("", coloured)) == value
    assert PLAIN.json(value) == json.dumps(value, indent=2)


def test_validate_colours_its_verdicts_only_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("naftiko: 1.0.0-alpha2\ncapability: {exposes: 3}\n")
    good = str(ROOT / "examples" / "hello-mock.yaml")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert main(["validate", good, str(bad)]) == 1
    plain = capsys.readouterr().out
    assert not ANSI.search(plain) and plain.splitlines()[-1] == "2 files: 1 valid, 1 invalid"
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(["validate", good, str(bad)]) == 1
    coloured = capsys.readouterr().out
    assert "\x1b[32mvalid\x1b[0m" in coloured and "\x1b[31;1minvalid\x1b[0m" in coloured
    assert "  \x1b[31;1merror\x1b[0m:" in coloured
    assert ANSI.sub("", coloured) == plain


def test_serve_log_colours_levels_and_the_ready_line_on_a_terminal_only() -> None:
    record = logging.LogRecord("naftiko", logging.INFO, __file__, 1, "ready: %d adapters", (2,), None)
    warning = logging.LogRecord("naftiko", logging.WARNING, __file__, 1, "slow", (), None)
    coloured, plain = formatter("text", colour=True), formatter("text")
    assert "\x1b[32;1mready: 2 adapters\x1b[0m" in coloured.format(record)
    assert "\x1b[33mWARNING\x1b[0m" in coloured.format(warning)
    assert ANSI.sub("", coloured.format(warning)) == plain.format(warning)
    assert not ANSI.search(plain.format(record))


def test_only_cli_reads_the_process_environment() -> None:
    """Colour, binds and control URLs get the environment passed down from ``cli.py``; nothing else reads it."""
    import ast

    readers = []
    for path in sorted((ROOT / "src" / "naftiko_runtime").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv", "environb")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers and all(r.startswith("src/naftiko_runtime/cli.py:") for r in readers), readers
