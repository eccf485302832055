"""``--profile``: where the servers spend their CPU under load, sampled with py-spy from the bench venv.

Each server is sampled (``py-spy record --format raw`` at 250 Hz, idle frames excluded; py-spy pauses the
process for each sample, which keeps coroutine stacks whole at a cost of about 1% CPU) while the load
generator drives it; the collapsed stacks are kept in ``bench/.work/profiles/<name>.txt`` (open them
in speedscope or flamegraph.pl) and summarised as the share of samples per package, and the functions
with the most self and inclusive time.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import BENCH_VENV, WORK, LoadGenerator, Request, cpu_seconds, log, process_tree

PY_SPY = BENCH_VENV / "bin" / "py-spy"
PROFILES = WORK / "profiles"

#: Package buckets by the start of a frame's file (py-spy shows paths from the site-packages or stdlib root).
PACKAGES = (
    ("naftiko_runtime", ("naftiko_runtime/",)),
    ("bench floor", ("floor_rest.py", "floor_mcp.py")),
    ("mcp SDK", ("mcp/",)),
    ("mcp_types", ("mcp_types/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("starlette", ("starlette/",)),
    ("uvicorn", ("uvicorn/",)),
    ("h11", ("h11/",)),
    ("aiohttp, yarl, multidict", ("aiohttp/", "yarl/", "multidict/")),
    ("anyio", ("anyio/",)),
    ("jsonschema", ("jsonschema/", "referencing/")),
    ("jsonpath", ("jsonpath_ng/",)),
    ("opentelemetry", ("opentelemetry/",)),
    ("asyncio, selectors", ("asyncio/", "selectors.py")),
    ("json", ("json/",)),
    ("logging", ("logging/",)),
)


@dataclass(frozen=True)
class Subject:
    """A server process to sample and the request that loads it."""

    name: str
    pid: int
    request: Request


def package_of(frame: str) -> str:
    location = frame[frame.rfind("(") + 1 :]
    return next((name for name, starts in PACKAGES if location.startswith(starts)), "other")


def summarize(raw: Path, top: int = 12) -> dict[str, Any]:
    """Shares of samples: per package of the innermost frame, and the top self/inclusive functions."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        packages[package_of(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count

    def shares(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, 100.0 * c / total) for name, c in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "packages_pct": dict(shares(packages, len(packages))),
        "top_self_pct": shares(own, top),
        "top_inclusive_pct": shares(inclusive, top * 3),
    }


def profile(
    loadgen: LoadGenerator, subjects: Sequence[Subject], seconds: float, clients: int
) -> dict[str, Any]:
    PROFILES.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for subject in subjects:
        out = PROFILES / f"{subject.name}.txt"
        argv = [str(PY_SPY), "record", "--pid", str(subject.pid), "--duration", str(round(seconds) + 1)]
        argv += ["--rate", "250", "--format", "raw", "--output", str(out)]
        spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        pids = process_tree(subject.pid)
        cpu_before = cpu_seconds(pids)
        summary = loadgen.run(subject.request, clients, seconds)
        cpu_us = (cpu_seconds(pids) - cpu_before) / max(1, summary["requests"]) * 1e6
        _, error = spy.communicate(timeout=seconds + 30)
        if spy.returncode != 0 or not out.exists():
            results[subject.name] = {"unavailable": error.decode(errors="replace").strip()[-200:]}
            log(f"py-spy on {subject.name} failed: {results[subject.name]['unavailable']}")
            continue
        results[subject.name] = summarize(out) | {
            "file": str(out),
            "rps_while_sampled": summary["requests"] / (summary["duration_us"] / 1e6),
            "cpu_us_per_request": cpu_us,
        }
        log(f"profiled {subject.name}: {results[subject.name]['samples']} samples -> {out}")
    return results


def print_profiles(profiles: dict[str, Any]) -> None:
    print("\nPROFILES  (py-spy, share of non-idle samples; collapsed stacks in bench/.work/profiles/)")
    for name, result in profiles.items():
        if "unavailable" in result:
            print(f"  {name}: not sampled: {result['unavailable']}")
            continue
        cpu = result["cpu_us_per_request"]
        packages = ", ".join(
            f"{p} {share * cpu / 100:.0f}" for p, share in result["packages_pct"].items() if share >= 1
        )
        print(
            f"  {name}: {cpu:.0f} CPU µs/req ({result['samples']} samples);"
            f" µs/req by innermost frame: {packages}"
        )
        for frame, share in result["top_self_pct"][:8]:
            print(f"      self {share:5.1f}%  {frame[:120]}")
        own_code = [(f, s) for f, s in result["top_inclusive_pct"] if "naftiko_runtime" in f][:8]
        for frame, share in own_code:
            print(f"      incl {share:5.1f}%  {frame[:120]}")
