"""Soak: ``naftiko serve`` in front of the Inngest stand-in (both real processes, loopback only) under a
steady load, checking that nothing fails and that memory stays flat.

    .venv/bin/python bench/soak.py                       # the full form: 60 s at 64 connections
    .venv/bin/python bench/soak.py --duration 3 --connections 8 --max-rss-growth 1   # the CI form

N keep-alive connections send REST calls back to back (the app list, the run list, one event batch in
ten); any status other than 200, or a connection error, counts as an error. The server's RSS is sampled
after a warm-up and at the end. Prints one JSON line; exits 1 on any error or RSS growth beyond the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EVENT_KEY = "soak-event-key"
SIGNING_KEY = "signkey-test-00112233445566778899aabbccddeeff"
STANDIN = {
    "event_keys": [EVENT_KEY],
    "signing_keys": [SIGNING_KEY],
    "time_scale": 0,
    "apps": [{"id": "shop", "name": "Shop", "functions": [{"id": "f", "name": "F", "triggers": ["shop/x"]}]}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def wait_up(url: str, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


async def load(base: str, connections: int, duration: float) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    stop = time.monotonic() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def worker(n: int) -> None:
            i = 0
            while time.monotonic() < stop:
                i += 1
                try:
                    if i % 10 == 0:
                        r = await client.post(
                            "/v1/workflows/events/batch", json=[{"name": "shop/x", "id": f"{n}-{i}"}]
                        )
                    elif i % 2:
                        r = await client.get("/v1/workflows/apps")
                    else:
                        r = await client.get("/v1/workflows/runs", params={"limit": 5})
                    counts["ok" if r.status_code == 200 else f"status {r.status_code}"] += 1
                except httpx.HTTPError as exc:
                    counts[type(exc).__name__] += 1

        await asyncio.gather(*(worker(n) for n in range(connections)))
    return counts, sum(counts.values())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--max-rss-growth", type=float, default=0.10, help="fraction (default 0.10)")
    args = parser.parse_args()
    standin_port, rest_port, mcp_port = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "standin.json"
        config.write_text(json.dumps(STANDIN))
        env = {**os.environ, "INNGEST_EVENT_KEY": EVENT_KEY, "INNGEST_SIGNING_KEY": SIGNING_KEY}
        standin = subprocess.Popen(
            [str(BIN / "naftiko-inngest-dev"), "--port", str(standin_port), "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        upstream = f"http://127.0.0.1:{standin_port}"
        serve = subprocess.Popen(
            [
                str(BIN / "naftiko"),
                "serve",
                str(ROOT / "capabilities" / "durable-workflow.yaml"),
                "--port",
                f"workflows-rest={rest_port}",
                "--port",
                f"workflows-mcp={mcp_port}",
                "--upstream",
                f"inngest-events={upstream}",
                "--upstream",
                f"inngest-api={upstream}",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{rest_port}"
        try:
            wait_up(f"{upstream}/health")
            wait_up(f"{base}/openapi.json")
            asyncio.run(load(base, args.connections, args.warmup))
            before = rss(serve.pid)
            started = time.monotonic()
            counts, total = asyncio.run(load(base, args.connections, args.duration))
            elapsed = time.monotonic() - started
            after = rss(serve.pid)
            healthy = httpx.get(f"{base}/v1/workflows/apps", timeout=5).status_code == 200
        finally:
            serve.terminate()
            standin.terminate()
            _, log = serve.communicate(timeout=30)
            standin.wait(timeout=30)
    errors = total - counts["ok"]
    growth = (after - before) / before if before else 0.0
    report = {
        "duration_s": round(elapsed, 1),
        "connections": args.connections,
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "errors": errors,
        "outcomes": dict(counts),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "rss_growth": round(growth, 4),
        "healthy_after": healthy,
        "serve_exit": serve.returncode,
        "error_log_lines": sum(1 for line in log.splitlines() if " ERROR " in line),
    }
    print(json.dumps(report))
    ok = errors == 0 and healthy and growth <= args.max_rss_growth and serve.returncode == 0
    return 0 if ok and report["error_log_lines"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
