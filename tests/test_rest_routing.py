"""REST routing: the one-pattern shortcut for plain paths answers exactly as the segment-by-segment walk."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from naftiko_runtime.exposes.rest.routes import Group, Routes, compile_route

TEMPLATES = [
    ("/v1/workflows/apps", ("GET",)),
    ("/v1/workflows/runs/{runId}", ("GET", "DELETE")),
    ("/v1/workflows/runs/{runId}/trace", ("GET",)),
    ("/v1/workflows/{kind}/latest", ("GET",)),
    ("/v1/workflows/runs/latest", ("POST",)),
    ("/v1/events/{a}-{b}", ("PUT",)),
    ("/files/{id}.{ext}", ("GET",)),
    ("/{x}", ("PATCH",)),
]


def routes() -> Routes:
    groups = []
    for template, methods in TEMPLATES:
        segments, _, greedy = compile_route(template, greedy_tail=False)
        group = Group(template, segments, greedy)
        group.endpoints = dict.fromkeys(methods, None)  # type: ignore[arg-type]
        groups.append(group)
    return Routes(groups)


ROUTES = routes()


def scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode("latin-1")}


def answer(found: Any) -> Any:
    return (found[0].template, found[1]) if isinstance(found, tuple) else found


segment = st.one_of(
    st.sampled_from(["v1", "workflows", "runs", "apps", "latest", "trace", "events", "files", ""]),
    st.text(alphabet="ab-.~_19%2F", min_size=1, max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(
    parts=st.lists(segment, min_size=0, max_size=5),
    trailing=st.booleans(),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
)
def test_the_shortcut_and_the_walk_agree_on_every_path(parts: list[str], trailing: bool, method: str) -> None:
    path = "/" + "/".join(parts) + ("/" if trailing and parts else "")
    assert answer(ROUTES.match(scope(path, method))) == answer(ROUTES.walk(path, method))


def test_a_literal_route_answers_its_own_methods_and_others_fall_to_the_variable_routes() -> None:
    assert answer(ROUTES.match(scope("/v1/workflows/runs/latest", "GET"))) == (
        "/v1/workflows/runs/{runId}",
        ["latest"],
    )
    assert answer(ROUTES.match(scope("/v1/workflows/runs/latest", "POST"))) == (
        "/v1/workflows/runs/latest",
        [],
    )
    assert answer(ROUTES.match(scope("/v1/events/x-y-z", "PUT"))) == ("/v1/events/{a}-{b}", ["x", "y-z"])
    assert answer(ROUTES.match(scope("/files/report.tar.gz", "GET"))) == (
        "/files/{id}.{ext}",
        ["report", "tar.gz"],
    )
    assert ROUTES.match(scope("/v1/workflows/apps", "DELETE")) == ["GET"]
    assert ROUTES.match(scope("/nowhere/at/all", "GET")) is None
