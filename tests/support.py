"""Shared helpers for the test-suite: the ../shared corpus, and real servers on ephemeral ports."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from naftiko_runtime.server.run import http_protocol, loop_factory

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance"
SEED_FILE = SHARED / "seeds" / "000_bc4b74cf6a97205f.txt"

requires_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"the shared corpus is not beside the checkout ({SHARED} is missing)"
)


def seed_capability_text() -> str:
    """The durable-workflow YAML embedded in the seed page, from its `naftiko:` line to the end."""
    text = SEED_FILE.read_text(encoding="utf-8")
    start = text.index("\nnaftiko: ") + 1
    return text[start:].rstrip() + "\n"


def write_seed(tmp_path: Path) -> Path:
    path = tmp_path / "durable-workflow.yaml"
    path.write_text(seed_capability_text(), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def run_asgi(app: Any, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve an ASGI app with uvicorn (on uvloop and httptools, as ``naftiko serve`` runs) in a background
    thread on an ephemeral port; yield its base URL."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets it recognises as TCP
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    loop = "uvloop" if loop_factory() is not None else "asyncio"
    config = uvicorn.Config(app, log_level="warning", lifespan="auto", loop=loop, http=http_protocol())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def naftiko_process(path: Path, env: dict[str, str], probes: Sequence[str]) -> Iterator[list[str]]:
    """``naftiko serve PATH`` as a real process with ``env`` added to the environment, until every probe URL
    answers; yields the list its stderr lines land in once it has stopped."""
    full = {k: v for k, v in os.environ.items() if k not in env}
    full.update(env, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "naftiko_runtime", "serve", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
        cwd=ROOT,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        for url in probes:
            while True:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                try:
                    httpx.get(url, timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "naftiko serve did not start"
                    time.sleep(0.05)
        yield lines
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        lines.extend(err.splitlines())
