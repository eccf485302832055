"""The short form of the soak (``bench/soak.py``): naftiko serve and the Inngest stand-in as processes,
a few seconds of load; no error, healthy afterwards, no ERROR line in the server's log."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .support import ROOT

pytestmark = pytest.mark.e2e


def test_a_short_soak_has_no_errors_and_leaves_the_server_healthy() -> None:
    args = ["--duration", "3", "--connections", "8", "--warmup", "1", "--max-rss-growth", "1"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["requests"] > 0 and report["errors"] == 0 and report["healthy_after"]
    assert report["serve_exit"] == 0 and report["error_log_lines"] == 0
