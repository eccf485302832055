"""The observer hook sees every request and every upstream call, with outcome and duration."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from naftiko_runtime.errors import UpstreamUnavailableError
from naftiko_runtime.observability import hooks

from .conftest import ServeFiles
from .support import free_port

CAPABILITY = """\
naftiko: 1.0.0-alpha2
info: {label: Observed, description: observer hook tests}
capability:
  consumes:
  - type: http
    namespace: echo
    baseUri: http://127.0.0.1:9
    resources:
    - name: any
      path: /any/{rest}
      operations:
      - name: get-any
        method: GET
        inputParameters: [{name: rest, in: path}, {name: x-echo-status, in: header}]
  - type: http
    namespace: down
    baseUri: http://127.0.0.1:DEAD_PORT
    resources:
    - {name: ping, path: /ping, operations: [{name: ping, method: GET}]}
  exposes:
  - type: rest
    namespace: observed
    port: 0
    resources:
    - path: /any/{rest}
      operations:
      - {method: GET, call: echo.get-any, with: {x-echo-status: rest.want}}
    - path: /down
      operations: [{method: GET, call: down.ping}]
"""


class Recorder(hooks.Observer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def request_start(self, event: hooks.RequestEvent) -> None:
        event.state = "request-span"
        self.seen.append(("request_start", (event.adapter, event.method, event.path)))

    def request_end(self, event: hooks.RequestEvent) -> None:
        assert event.state == "request-span" and event.duration > 0
        self.seen.append(("request_end", (event.path, event.status, event.error)))

    def upstream_start(self, event: hooks.UpstreamEvent) -> None:
        event.state = "upstream-span"
        self.seen.append(("upstream_start", (event.namespace, event.operation, event.method)))

    def upstream_end(self, event: hooks.UpstreamEvent) -> None:
        assert event.state == "upstream-span" and event.duration > 0
        self.seen.append(("upstream_end", (event.operation, event.status, event.error)))


@contextlib.contextmanager
def observed(tmp_path: Path, upstream: str, serve_files: ServeFiles) -> Iterator[tuple[str, Recorder]]:
    path = tmp_path / "observed.yaml"
    path.write_text(CAPABILITY.replace("DEAD_PORT", str(free_port())), encoding="utf-8")
    recorder = Recorder()
    previous = hooks.install(recorder)  # before the apps are built: they report only if someone observes
    try:
        with serve_files([path], upstreams={"echo": upstream}) as adapters:
            yield adapters[0].url, recorder
    finally:
        hooks.install(previous)


def test_observer_sees_requests_and_upstream_calls_with_their_outcome(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with observed(tmp_path, echo, serve_files) as (url, recorder):
        assert httpx.get(url + "any/x").status_code == 200
        assert httpx.get(url + "any/y", params={"want": "404"}).status_code == 404
        assert httpx.get(url + "nowhere").status_code == 404
    assert recorder.seen == [
        ("request_start", ("observed", "GET", "/any/x")),
        ("upstream_start", ("echo", "get-any", "GET")),
        ("upstream_end", ("get-any", 200, None)),
        ("request_end", ("/any/x", 200, None)),
        ("request_start", ("observed", "GET", "/any/y")),
        ("upstream_start", ("echo", "get-any", "GET")),
        ("upstream_end", ("get-any", 404, None)),
        ("request_end", ("/any/y", 404, None)),
        ("request_start", ("observed", "GET", "/nowhere")),
        ("request_end", ("/nowhere", 404, None)),
    ]


def test_observer_sees_the_error_of_an_unreachable_upstream(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    with observed(tmp_path, echo, serve_files) as (url, recorder):
        assert httpx.get(url + "down").status_code == 502
    (start, upstream_start, upstream_end, end) = recorder.seen
    assert upstream_start == ("upstream_start", ("down", "ping", "GET"))
    name, (operation, status, error) = upstream_end  # type: ignore[misc]
    assert (name, operation, status) == ("upstream_end", "ping", None)
    assert isinstance(error, UpstreamUnavailableError) and "connection refused" in str(error)
    assert end == ("request_end", ("/down", 502, None))


class Tagged(Recorder):
    """A recorder whose start state names it, so a fan-out that mixed states up would fail its checks."""

    def __init__(self, tag: str, log: list[str]) -> None:
        super().__init__()
        self.tag, self.log = tag, log

    def request_start(self, event: hooks.RequestEvent) -> None:
        super().request_start(event)
        event.state = "request-span"
        self.log.append(f"{self.tag} start")

    def request_end(self, event: hooks.RequestEvent) -> None:
        super().request_end(event)
        self.log.append(f"{self.tag} end")


def test_several_observers_each_keep_their_own_state_and_end_in_reverse_order(
    tmp_path: Path, echo: str, serve_files: ServeFiles
) -> None:
    path = tmp_path / "observed.yaml"
    path.write_text(CAPABILITY.replace("DEAD_PORT", str(free_port())), encoding="utf-8")
    log: list[str] = []
    first, second = Tagged("first", log), Tagged("second", log)
    previous = hooks.install(hooks.Observers([first, second]))
    try:
        with serve_files([path], upstreams={"echo": echo}) as adapters:
            assert httpx.get(adapters[0].url + "any/x").status_code == 200
    finally:
        hooks.install(previous)
    assert log == ["first start", "second start", "second end", "first end"]
    assert first.seen == second.seen and [name for name, _ in first.seen] == [
        "request_start",
        "upstream_start",
        "upstream_end",
        "request_end",
    ]
