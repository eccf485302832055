"""Shared helpers for the test-suite: the ../shared corpus, and real servers on ephemeral ports."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
