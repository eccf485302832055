"""A small Microcks look-alike: serve the examples of OpenAPI files as a Starlette app.

Each OpenAPI file is mounted under the path of its first ``servers`` URL (so a capability's ``baseUri`` path
carries over unchanged). For each path and method the mock answers with the lowest declared 2xx response and,
among its examples, the one Microcks would dispatch to: the example whose name is also the name of a
parameter example for every path/query parameter that declares it, with the request's values equal to those
example values (``/imo_number=IMO-9321483``, ``?status=active``). With no match, the operation's FALLBACK
example, else the first example. ``{{ request.body/pointer }}`` templates in JSON examples are rendered from
the request body, like Microcks does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_TEMPLATE = re.compile(r"\{\{\s*request\.(body|path|params)([/\[][^}]*?)\s*\}\}")


def _resolve_ref(spec: dict[str, Any], node: Any) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return target
    return node


def _pointer(value: Any, pointer: str) -> Any:
    for part in [p for p in pointer.split("/") if p]:
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _render(node: Any, request_body: Any, path_params: dict[str, str], query: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _render(v, request_body, path_params, query) for k, v in node.items()}
    if isinstance(node, list):
        return [_render(v, request_body, path_params, query) for v in node]
    if isinstance(node, str) and "{{" in node:

        def sub(match: re.Match[str]) -> str:
            kind, rest = match.group(1), match.group(2)
            if kind == "body":
                found = _pointer(request_body, rest)
            else:
                key = rest.strip("/[]'\" ")
                found = (path_params if kind == "path" else query).get(key)
            return "" if found is None else str(found)

        return _TEMPLATE.sub(sub, node)
    return node


class Operation:
    def __init__(self, spec: dict[str, Any], path_item: dict[str, Any], op: dict[str, Any]) -> None:
        params = [
            _resolve_ref(spec, p) for p in [*path_item.get("parameters", []), *op.get("parameters", [])]
        ]
        self.params = [p for p in params if p.get("in") in ("path", "query")]
        codes = sorted(c for c in op.get("responses", {}) if str(c).startswith("2"))
        code = codes[0] if codes else "200"
        self.status = int(code)
        response = _resolve_ref(spec, op.get("responses", {}).get(code, {}))
        content = response.get("content", {})
        self.media_type, media = next(iter(content.items()), ("application/json", {}))
        self.examples: dict[str, Any] = {
            name: _resolve_ref(spec, ex).get("value") for name, ex in (media.get("examples") or {}).items()
        }
        if not self.examples and "example" in media:
            self.examples["example"] = media["example"]
        self.fallback: str | None = None
        rules = (op.get("x-microcks-operation") or {}).get("dispatcherRules")
        if isinstance(rules, str) and rules.strip().startswith("{"):
            self.fallback = json.loads(rules).get("fallback")

    def choose(self, path_params: dict[str, str], query: dict[str, str]) -> str | None:
        for name in self.examples:
            keyed = [p for p in self.params if name in (p.get("examples") or {})]
            if not keyed:
                continue
            given = {p["name"]: (path_params if p["in"] == "path" else query).get(p["name"]) for p in keyed}
            if all(str(p["examples"][name].get("value")) == given[p["name"]] for p in keyed):
                return name
        if self.fallback in self.examples:
            return self.fallback
        return next(iter(self.examples), None)

    async def __call__(self, request: Request) -> Response:
        body: Any = None
        raw = await request.body()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        path_params = {k: str(v) for k, v in request.path_params.items()}
        query = dict(request.query_params)
        request.app.state.calls.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": query,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        name = self.choose(path_params, query)
        if name is None:
            return Response(status_code=self.status)
        value = _render(self.examples[name], body, path_params, query)
        if "json" in self.media_type:
            return JSONResponse(value, status_code=self.status, media_type=self.media_type)
        return Response(str(value), status_code=self.status, media_type=self.media_type)


def build_mock(files: list[Path]) -> Starlette:
    """One Starlette app serving the examples of every OpenAPI file under its server path."""
    routes: list[Route] = []
    for file in files:
        spec = yaml.safe_load(file.read_text(encoding="utf-8"))
        prefix = urlparse(spec["servers"][0]["url"]).path.rstrip("/")
        for path, item in spec.get("paths", {}).items():
            handlers = {
                m.upper(): Operation(spec, item, op)
                for m, op in item.items()
                if m in ("get", "put", "post", "delete", "patch", "head", "options")
            }

            async def endpoint(request: Request, handlers: dict[str, Operation] = handlers) -> Response:
                handler = handlers.get(request.method)
                if handler is None:
                    return Response(status_code=405)
                return await handler(request)

            routes.append(Route(prefix + path, endpoint, methods=list(handlers)))
    app = Starlette(routes=routes)
    app.state.calls = []
    return app


def server_paths(files: list[Path]) -> dict[str, str]:
    """Each file's server URL (as written) → its path prefix."""
    out: dict[str, str] = {}
    for file in files:
        url = yaml.safe_load(file.read_text(encoding="utf-8"))["servers"][0]["url"]
        out[url.rstrip("/")] = urlparse(url).path.rstrip("/")
    return out
