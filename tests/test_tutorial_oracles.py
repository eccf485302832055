"""The official tutorial's end-to-end oracles, against a Microcks look-alike built from the tutorial's OpenAPI files.

For every test of ``conformance/oracles/tutorial-tests.yml``: serve the step's capability in-process with every
consumed namespace pointed at the local mock (same base path as the ``baseUri``), call the tool over the MCP
client (or the REST route with httpx) and evaluate each jq validation on the JSON result with a small jq subset
(paths, ``.[n]``, ``.[]``, ``|``, ``has``, ``type``, ``length``, ``all(gen; cond)``, comparisons).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import httpx2
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from naftiko_runtime.binds import resolve_binds
from naftiko_runtime.server import BoundAdapter
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file

from .conftest import ServeFiles
from .microcks import build_mock
from .support import CONFORMANCE, requires_shared, run_asgi

pytestmark = [requires_shared, pytest.mark.e2e]

ORACLES = CONFORMANCE / "oracles" / "tutorial-tests.yml"
CAPABILITIES = CONFORMANCE / "capabilities" / "tutorial"
UPSTREAMS = CONFORMANCE / "upstreams" / "tutorial-microcks"
#: README ("Not served yet"): `outputRawFormat` other than json/yaml. The tutorial's legacy dockyard answers XML.


# --- a jq subset -----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|>=|<=|[.\[\]()|;,<>])
                       |(?P<name>[A-Za-z_][A-Za-z0-9_]*))""",
    re.VERBOSE,
)

Filter = Callable[[Any], list[Any]]


def _jq_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _length(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError("boolean has no length")
    if isinstance(value, int | float):
        return abs(value)
    return len(value)


def _has(value: Any, key: Any) -> bool:
    if isinstance(value, dict) and isinstance(key, str):
        return key in value
    if isinstance(value, list) and isinstance(key, int):
        return 0 <= key < len(value)
    raise ValueError(f"cannot check whether {_jq_type(value)} has a {_jq_type(key)} key")


def _index(value: Any, key: Any) -> Any:
    if value is None:
        return None
    if isinstance(key, str):
        if not isinstance(value, dict):
            raise ValueError(f"cannot index {_jq_type(value)} with {key!r}")
        return value.get(key)
    if not isinstance(value, list):
        raise ValueError(f"cannot index {_jq_type(value)} with a number")
    return value[key] if -len(value) <= key < len(value) else None


def _iterate(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    raise ValueError(f"cannot iterate over {_jq_type(value)}")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"jq subset: cannot read {text[pos:]!r}")
            self.tokens.append(match.group().strip())
            pos = match.end()
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"jq subset: expected {expected!r}, found {token!r}")
        self.pos += 1
        return token

    def parse(self) -> Filter:
        result = self.pipe()
        if self.peek() is not None:
            raise ValueError(f"jq subset: unexpected {self.peek()!r}")
        return result

    def pipe(self) -> Filter:
        left = self.comparison()
        while self.peek() == "|":
            self.take()
            right = self.comparison()
            left = (lambda a, b: lambda v: [y for x in a(v) for y in b(x)])(left, right)
        return left

    def comparison(self) -> Filter:
        left = self.postfix()
        if self.peek() in _COMPARE:
            op = _COMPARE[self.take()]
            right = self.postfix()
            return lambda v: [op(a, b) for b in right(v) for a in left(v)]
        return left

    def postfix(self) -> Filter:
        term = self.primary()
        while True:
            if (
                self.peek() == "."
                and self.pos + 1 < len(self.tokens)
                and re.match(r"[A-Za-z_]", self.tokens[self.pos + 1])
            ):
                self.take()
                key = self.take()
                term = (lambda t, k: lambda v: [_index(x, k) for x in t(v)])(term, key)
            elif self.peek() == "[":
                term = self.bracket(term)
            else:
                return term

    def bracket(self, term: Filter) -> Filter:
        self.take("[")
        if self.peek() == "]":
            self.take()
            return lambda v: [y for x in term(v) for y in _iterate(x)]
        key = self.pipe()
        self.take("]")
        return lambda v: [_index(x, k) for x in term(v) for k in key(v)]

    def primary(self) -> Filter:
        token = self.take()
        if token == ".":
            nxt = self.peek()
            if nxt is not None and re.match(r"[A-Za-z_]", nxt):
                key = self.take()
                return lambda v: [_index(v, key)]
            if nxt == "[":
                return self.bracket(lambda v: [v])
            return lambda v: [v]
        if token == "(":
            inner = self.pipe()
            self.take(")")
            return inner
        if token.startswith('"'):
            literal = json.loads(token)
            return lambda v: [literal]
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            number = json.loads(token)
            return lambda v: [number]
        args: list[Filter] = []
        if self.peek() == "(":
            self.take()
            args.append(self.pipe())
            while self.peek() == ";":
                self.take()
                args.append(self.pipe())
            self.take(")")
        return self.function(token, args)

    @staticmethod
    def function(name: str, args: list[Filter]) -> Filter:
        simple: dict[tuple[str, int], Filter] = {
            ("type", 0): lambda v: [_jq_type(v)],
            ("length", 0): lambda v: [_length(v)],
            ("true", 0): lambda v: [True],
            ("false", 0): lambda v: [False],
            ("null", 0): lambda v: [None],
            ("not", 0): lambda v: [not _truthy(v)],
            ("keys", 0): lambda v: [sorted(v) if isinstance(v, dict) else list(range(len(v)))],
        }
        if (name, len(args)) in simple:
            return simple[(name, len(args))]
        if name == "has" and len(args) == 1:
            return lambda v: [_has(v, k) for k in args[0](v)]
        if name in ("all", "any") and len(args) in (0, 1, 2):
            combine = all if name == "all" else any

            def quantifier(v: Any) -> list[Any]:
                if len(args) == 2:
                    items = args[0](v)
                    cond = args[1]
                else:
                    items = _iterate(v)
                    cond = args[0] if args else (lambda x: [x])
                return [combine(_truthy(r) for item in items for r in cond(item))]

            return quantifier
        raise ValueError(f"jq subset: unsupported function {name}/{len(args)}")


def jq(expression: str, value: Any) -> list[Any]:
    """The outputs of a jq expression (the subset the tutorial oracles use) on a JSON value."""
    return _Parser(expression).parse()(value)


def test_the_jq_subset() -> None:
    doc = {"a": [{"b": 1, "c": "x"}, {"b": 2}], "d": {"e": 3.5}}
    assert jq('has("a")', doc) == [True]
    assert jq(".a | length > 1", doc) == [True]
    assert jq('.a[0] | has("c")', doc) == [True]
    assert jq('.a[] | has("c")', doc) == [True, False]
    assert jq("all(.a[]; .b > 0)", doc) == [True]
    assert jq("all(.a[]; .b == 1)", doc) == [False]
    assert jq('.d.e   | type == "number"', doc) == [True]
    assert jq('.[0] | has("imo")', [{"imo": "x"}]) == [True]
    assert jq('type == "array"', []) == [True]
    assert jq('.a[0].c == "x"', doc) == [True]


# --- serving a capability against the mock -------------------------------------------------------------


@dataclass
class Served:
    adapters: dict[str, BoundAdapter]  # kind → first bound adapter of that kind
    mcp_token: str | None


class Servers:
    """Capability files served on demand, each once for the module, against one mock upstream."""

    def __init__(
        self,
        mock_url: str,
        serve_files: ServeFiles,
        stack: contextlib.ExitStack,
        capabilities: Path = CAPABILITIES,
    ) -> None:
        self.mock_url = mock_url
        self.capabilities = capabilities
        self.serve_files = serve_files
        self.stack = stack
        self.served: dict[str, Served] = {}

    def get(self, file: str) -> Served:
        if file not in self.served:
            self.served[file] = self._start(self.capabilities / file)
        return self.served[file]

    def _start(self, path: Path) -> Served:
        document = load_file(path).require()
        assert document.capability is not None
        upstreams = {
            c.namespace: self.mock_url + urlparse(c.base_uri).path.rstrip("/")
            for c in document.capability.consumes
            if isinstance(c, m.ConsumesHttp)
        }
        exposed = [
            e
            for e in document.capability.exposes
            if isinstance(e, m.ExposesMcp | m.ExposesRest)
            or (isinstance(e, m.ExposesOther) and e.type == "skill")
        ]
        ports = {e.namespace: 0 for e in exposed if e.namespace}
        bindings = resolve_binds(document, {})
        token = None
        for adapter in exposed:
            if isinstance(adapter, m.ExposesMcp) and isinstance(adapter.authentication, m.AuthBearer):
                token = re.sub(
                    r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}",
                    lambda g: str(bindings.flat.get(g.group(1), g.group(0))),
                    adapter.authentication.token,
                )
        adapters = self.stack.enter_context(
            self.serve_files([path], host="127.0.0.1", ports=ports, upstreams=upstreams, environ={})
        )
        by_kind: dict[str, BoundAdapter] = {}
        for bound in adapters:
            by_kind.setdefault(bound.kind, bound)
        return Served(by_kind, token)


@pytest.fixture(scope="module")
def servers(serve_files: ServeFiles) -> Iterator[Servers]:
    mock = build_mock(sorted(UPSTREAMS.glob("*.yaml")))
    with run_asgi(mock) as mock_url, contextlib.ExitStack() as stack:
        yield Servers(mock_url, serve_files, stack)


# --- the oracles ---------------------------------------------------------------------------------------


def oracles(file: Path = ORACLES) -> list[Any]:
    if not file.is_file():
        return []
    tests = yaml.safe_load(file.read_text(encoding="utf-8"))["tests"]
    params = []
    for test in tests:
        params.append(pytest.param(test, id=test["name"]))
    return params


def _call_tool(served: Served, tool: str, args: dict[str, Any]) -> Any:
    bound = served.adapters.get("mcp")
    assert bound is not None, "the capability serves no MCP adapter"

    async def go() -> Any:
        headers = {"Authorization": f"Bearer {served.mcp_token}"} if served.mcp_token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=15) as http:
            async with Client(streamable_http_client(bound.url, http_client=http)) as client:
                result = await client.call_tool(tool, args)
        dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert not result.is_error, f"tool {tool} failed: {json.dumps(dumped)}"
        if isinstance(result.structured_content, dict):
            return result.structured_content
        text = "".join(getattr(c, "text", "") for c in result.content)
        try:
            return json.loads(text)
        except ValueError:
            pytest.fail(f"tool {tool} returned no JSON: {json.dumps(dumped)}")

    return asyncio.run(go())


def _call_rest(served: Served, test: dict[str, Any]) -> Any:
    kind = "skill" if str(test["path"]).startswith("/skills") else "rest"
    bound = served.adapters.get(kind)
    assert bound is not None, f"the capability serves no {kind} adapter"
    url = bound.url.rstrip("/") + test["path"]
    response = httpx.request(test.get("method", "GET"), url, json=test.get("body"), timeout=15)
    assert response.is_success, f"{test['method']} {test['path']} → {response.status_code}: {response.text}"
    try:
        return response.json()
    except ValueError:
        pytest.fail(f"{test['method']} {test['path']} returned no JSON: {response.text!r}")


@pytest.mark.parametrize("test", oracles())
def test_tutorial_oracle(servers: Servers, test: dict[str, Any]) -> None:
    check_oracle(servers, test)


def check_oracle(servers: Servers, test: dict[str, Any]) -> None:
    """Run one oracle test against the server of its step file and evaluate its jq validations."""
    served = servers.get(test["file"])
    if test.get("type") == "rest":
        result = _call_rest(served, test)
    else:
        result = _call_tool(served, test["tool"], test.get("args") or {})
    shown = json.dumps(result, indent=1, ensure_ascii=False)
    failed = []
    for validation in test["validations"]:
        expression = validation["jq"]
        try:
            outputs = jq(expression, result)
        except (ValueError, TypeError) as exc:
            failed.append(f"{expression}  → error: {exc}")
            continue
        if not outputs or not all(_truthy(o) for o in outputs):
            failed.append(f"{expression}  → {outputs}")
    assert not failed, "failing validations:\n  " + "\n  ".join(failed) + f"\non the result:\n{shown}"
