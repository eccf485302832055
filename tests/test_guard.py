"""Hostile and careless callers: what every HTTP adapter refuses before it runs anything (the server's
guard), what the HTTP protocol refuses before the app sees it, and how shutdown under load ends."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.server import protocol, run
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_text

from .conftest import ServeFiles, serve_app

GUARDED = """\
naftiko: 1.0.0-alpha2
info: {label: Guarded, description: Guard tests}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://upstream.invalid
    resources:
    - name: items
      path: /items/{id}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - {name: id, in: path}
        - {name: x-echo-delay, in: header}
        - {name: n, in: query}
      - name: put-item
        method: POST
        inputParameters: [{name: id, in: path}, {name: doc, in: body}]
  exposes:
  - type: rest
    namespace: guarded-rest
    port: 8080
    resources:
    - path: /items/{id}
      operations:
      - method: GET
        call: up.get-item
        inputParameters:
        - {name: id, in: path, type: string}
        - {name: x-echo-delay, in: header, type: string}
        - {name: n, in: query, type: integer}
      - method: POST
        call: up.put-item
        inputParameters:
        - {name: id, in: path, type: string}
        - {name: doc, in: body, type: object, value: $}
  - type: mcp
    namespace: guarded-mcp
    port: 9090
    transport: http
    tools:
    - name: get-item
      description: One item, slowly if asked.
      inputParameters:
      - {name: id, type: string, description: The id.}
      - {name: delay, type: string, required: false, description: Seconds the upstream waits.}
      call: up.get-item
      with: {x-echo-delay: tools.delay}
"""


@contextlib.contextmanager
def guarded(echo: str, kind: str = "rest", **options: Any) -> Iterator[str]:
    doc = load_text(GUARDED, "guarded.yaml").require()
    cap = capability(doc.file, doc, {}, {"up": echo})
    runtime = build_runtime(cap, Timeouts(connect=1, total=5))
    adapter = next(a for a in cap.exposes if a.type == kind)
    assert isinstance(adapter, m.ExposesRest | m.ExposesMcp)
    with serve_app(build_app(adapter, runtime, host="127.0.0.1", port=0, **options), runtime) as url:
        yield url


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and "Traceback" not in response.text
    return body


# --- cross-site ------------------------------------------------------------------------------------------


def test_rest_answers_only_its_own_host_names(echo: str) -> None:
    with guarded(echo, allow_hosts=["api.example.com"]) as url, httpx.Client(base_url=url) as client:
        assert client.get("/items/1").status_code == 200
        rebound = problem(client.get("/items/1", headers={"Host": "attacker.example"}), 421)
        assert "attacker.example" in rebound["detail"]
        assert client.get("/items/1", headers={"Host": "api.example.com:443"}).status_code == 200
        assert client.get("/items/1", headers={"Host": "localhost:1"}).status_code == 200


def test_rest_refuses_requests_from_foreign_origins(echo: str) -> None:
    with guarded(echo) as url, httpx.Client(base_url=url) as client:
        port = url.rsplit(":", 1)[1]
        body = problem(client.post("/items/1", json={}, headers={"Origin": "https://evil.example"}), 403)
        assert "evil.example" in body["detail"]
        problem(client.get("/items/1", headers={"Origin": "null"}), 403)
        assert client.get("/items/1", headers={"Origin": f"http://localhost:{port}"}).status_code == 200
        assert "access-control-allow-origin" not in client.options("/items/1").headers


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"a": 1}', "text/plain"),
        (b"a=1", "application/x-www-form-urlencoded"),
        (
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
        (b'{"a": 1}', None),
    ],
)
def test_rest_bodies_must_be_json(echo: str, content: bytes, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    with guarded(echo) as url, httpx.Client(base_url=url) as client:
        body = problem(client.post("/items/1", content=content, headers=headers), 415)
        assert "must be application/json" in body["detail"]
        sent = client.post(
            "/items/1",
            content=content if content_type is None else b"{}",
            headers={"Content-Type": "application/json"},
        )
        assert sent.status_code == 200, sent.text


# --- limits ----------------------------------------------------------------------------------------------


def test_an_oversized_body_is_413_and_the_answer_reaches_the_client(echo: str) -> None:
    with guarded(echo) as url, httpx.Client(base_url=url) as client:
        big = b'{"a": "' + b"x" * (3 * 1024 * 1024) + b'"}'
        body = problem(
            client.post("/items/1", content=big, headers={"Content-Type": "application/json"}), 413
        )
        assert "exceeds 1048576 bytes" in body["detail"]
        assert client.get("/items/1").status_code == 200


def test_deep_json_and_overlong_integers_are_400_not_500(echo: str) -> None:
    with guarded(echo) as url, httpx.Client(base_url=url) as client:
        deep = b"[" * 100_000 + b"]" * 100_000
        body = problem(
            client.post("/items/1", content=deep, headers={"Content-Type": "application/json"}), 400
        )
        assert "nests JSON deeper" in body["detail"]
        huge = b'{"n": ' + b"9" * 5000 + b"}"
        body = problem(
            client.post("/items/1", content=huge, headers={"Content-Type": "application/json"}), 400
        )
        assert "4300 digits" in body["detail"]
        body = problem(client.get("/items/1", params={"n": "9" * 5000}), 400)
        assert body["parameter"] == "n" and "4300 digits" in body["detail"]


def test_beyond_max_in_flight_rest_gets_503_with_retry_after(echo: str) -> None:
    with guarded(echo, max_in_flight=1) as url:

        async def both() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                slow = asyncio.ensure_future(client.get("/items/1", headers={"x-echo-delay": "1"}))
                await asyncio.sleep(0.3)
                busy = await client.get("/items/2")
                return [await slow, busy]

        slow, busy = asyncio.run(both())
    assert slow.status_code == 200
    assert problem(busy, 503)["title"] == "Server busy" and busy.headers["retry-after"] == "1"


def test_beyond_max_in_flight_mcp_gets_a_json_rpc_error(echo: str) -> None:
    with guarded(echo, "mcp", max_in_flight=1) as url:
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

        async def both() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                # a request that holds its slot: a body that takes its time to arrive
                async def trickle() -> Any:
                    yield b'{"jsonrpc": "2.0", '
                    await asyncio.sleep(1)
                    yield b'"id": 0, "method": "ping"}'

                slow = asyncio.ensure_future(client.post("/mcp", content=trickle(), headers=headers))
                await asyncio.sleep(0.3)
                busy = await client.post("/mcp", json=call, headers=headers)
                return [await slow, busy]

        _, busy = asyncio.run(both())
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    error = busy.json()["error"]
    assert error["code"] == -32000 and "in flight" in error["message"]


# --- the HTTP protocol -----------------------------------------------------------------------------------


def _raw(port: int, data: bytes, *, wait: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture()
def served(
    tmp_path: Path, echo: str, serve_files: ServeFiles, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    monkeypatch.setattr(protocol, "HEAD_TIMEOUT", 0.5)
    file = tmp_path / "guarded.yaml"
    file.write_text(GUARDED, encoding="utf-8")
    ports = {"guarded-rest": 0, "guarded-mcp": 0}
    with serve_files([file], upstreams={"up": echo}, ports=ports) as adapters:
        yield next(a.port for a in adapters if a.namespace == "guarded-rest")


def test_request_heads_over_the_limits_are_431(served: int) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(protocol.MAX_HEADERS + 5))
    for head in (many, b"X-Big: " + b"a" * (protocol.MAX_HEAD_BYTES + 10) + b"\r\n"):
        answer = _raw(served, b"GET /items/1 HTTP/1.1\r\nHost: localhost\r\n" + head + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 ") and b"application/problem+json" in answer
    assert httpx.get(f"http://127.0.0.1:{served}/items/1").status_code == 200


def test_a_large_body_sent_with_its_head_is_not_taken_for_a_large_head(served: int) -> None:
    body = json.dumps({"blob": "a" * 300_000}).encode()  # under the body limit, over the head's
    head = b"POST /items/1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    answer = _raw(served, head + body)  # one write: the server reads head and body together
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'"blob"' in answer  # the echo upstream got the body


def test_a_head_over_the_limit_is_431_however_it_arrives(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=5) as sock:
        sock.sendall(b"GET /items/1 HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        with contextlib.suppress(OSError):  # the server may refuse and close before the last write
            for _ in range(protocol.MAX_HEAD_BYTES // 4096 + 2):  # in many small writes
                sock.sendall(b"a" * 4096)
                time.sleep(0.001)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_silent_and_slow_connections_are_closed_after_the_head_timeout(served: int) -> None:
    started = time.monotonic()
    assert _raw(served, b"") == b""  # silent: closed, nothing said
    assert _raw(served, b"GET /items/1 HTTP/1.1\r\nHost: local") == b""  # a head that never ends
    assert time.monotonic() - started < 4
    assert httpx.get(f"http://127.0.0.1:{served}/items/1").status_code == 200


def test_a_stalled_head_on_a_kept_alive_connection_gets_the_whole_head_timeout(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=5) as sock:
        sock.sendall(b"GET /items/1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        time.sleep(0.3)  # idle between requests, within the keep-alive timeout
        sock.sendall(b"GET /items/1 HTTP/1.1\r\nHost: loc")  # the second head stalls
        stalled = time.monotonic()
        assert sock.recv(65536) == b""  # closed without a word...
        waited = time.monotonic() - stalled
    assert protocol.HEAD_TIMEOUT - 0.1 <= waited < 3  # ...once this head, not the connection, timed out


def test_shutdown_closes_connections_and_cuts_late_calls_with_a_503(
    tmp_path: Path, echo: str, serve_files: ServeFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "SHUTDOWN_GRACE_SECONDS", 2.0)
    file = tmp_path / "guarded.yaml"
    file.write_text(GUARDED, encoding="utf-8")
    answers: dict[str, httpx.Response] = {}

    def call(name: str, delay: str, port: int) -> None:
        answers[name] = httpx.get(
            f"http://127.0.0.1:{port}/items/1", headers={"x-echo-delay": delay}, timeout=10
        )

    ports = {"guarded-rest": 0, "guarded-mcp": 0}
    with serve_files([file], upstreams={"up": echo}, ports=ports) as adapters:
        port = next(a.port for a in adapters if a.namespace == "guarded-rest")
        threads = [
            threading.Thread(target=call, args=(n, d, port)) for n, d in (("quick", "1.5"), ("late", "8"))
        ]
        for t in threads:
            t.start()
        time.sleep(1)  # both in flight when shutdown begins: one ends within the grace period, one not
    for t in threads:
        t.join(10)
    quick, late = answers["quick"], answers["late"]
    assert quick.status_code == 200 and quick.headers["connection"] == "close"
    body = problem(late, 503)
    assert body["title"] == "Shutting down" and late.headers["connection"] == "close"


def test_serving_raises_the_young_collection_threshold_and_gives_it_back(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    file = tmp_path / "guarded.yaml"
    file.write_text(GUARDED, encoding="utf-8")
    before = gc.get_threshold()
    with serve_files([file], upstreams={"up": echo}, ports={"guarded-rest": 0, "guarded-mcp": 0}) as adapters:
        port = next(a.port for a in adapters if a.namespace == "guarded-rest")
        assert httpx.get(f"http://127.0.0.1:{port}/items/1").status_code == 200
        assert gc.get_threshold() == (run.GC_YOUNG_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
