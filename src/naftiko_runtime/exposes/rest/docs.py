"""What a REST adapter answers besides its routes: an index at ``/`` and interactive docs at ``/docs``.

The index lists the adapter's operations (from its OpenAPI document, so the two cannot disagree) with
links to ``/openapi.json`` and ``/docs``: JSON by default, a small HTML page for a browser. ``/docs`` is
Swagger UI served from the files the ``swagger-ui-py`` package ships (Swagger UI 5, which reads OpenAPI
3.1), never from a CDN: users may be offline. The package is located, not imported (its module pulls in
a template engine we do not need).
"""

from __future__ import annotations

import html
import importlib.util
import json
import mimetypes
from pathlib import Path
from typing import Any

from starlette.responses import Response

from ...problem import Problem, ProblemResponse

DOCS_PATH = "/docs"
_STATIC_PREFIX = DOCS_PATH + "/static/"
#: the Swagger UI files the docs page loads; nothing else under the package is served
_STATIC_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def swagger_ui_dir() -> Path | None:
    """The folder of Swagger UI's static files, or ``None`` when ``swagger-ui-py`` is not installed."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def operations(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of an OpenAPI document: method, path, operationId and summary when it has one."""
    out: list[dict[str, Any]] = []
    for path, item in openapi.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            row = {"method": method.upper(), "path": path, "operationId": op.get("operationId")}
            if op.get("summary") or op.get("description"):
                row["summary"] = op.get("summary") or op.get("description")
            out.append(row)
    return out


def index_document(namespace: str, openapi: dict[str, Any], *, docs: bool) -> dict[str, Any]:
    links = {"openapi": "/openapi.json"}
    if docs:
        links["docs"] = DOCS_PATH
    return {
        "adapter": namespace,
        "type": "rest",
        "title": openapi.get("info", {}).get("title"),
        "operations": operations(openapi),
        "links": links,
    }


def _index_html(index: dict[str, Any]) -> str:
    e = html.escape
    rows = "\n".join(
        f"<tr><td><code>{e(op['method'])}</code></td><td><code>{e(op['path'])}</code></td>"
        f"<td>{e(str(op.get('operationId') or ''))}</td><td>{e(str(op.get('summary') or ''))}</td></tr>"
        for op in index["operations"]
    )
    links = " · ".join(f'<a href="{e(url)}">{e(name)}</a>' for name, url in index["links"].items())
    title = e(str(index["title"] or index["adapter"]))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><p>REST adapter <code>{e(index['adapter'])}</code>: {links}</p>"
        "<table><thead><tr><th>method</th><th>path</th><th>operation</th><th>summary</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )


_DOCS_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "/openapi.json", dom_id: "#swagger-ui"}});</script>
</body></html>
"""


class Pages:
    """The index and docs responses of one adapter, rendered once at start-up."""

    def __init__(self, namespace: str, openapi: dict[str, Any]) -> None:
        self.static = swagger_ui_dir()
        index = index_document(namespace, openapi, docs=self.static is not None)
        self.index_json = Response(
            json.dumps(index, indent=2, ensure_ascii=False), media_type="application/json"
        )
        self.index_html = Response(_index_html(index), media_type="text/html")
        title = html.escape(str(index["title"] or namespace))
        self.docs = Response(_DOCS_PAGE.format(title=title), media_type="text/html")
        self._files: dict[str, Response] = {}

    def index(self, accept: str) -> Response:
        return self.index_html if "text/html" in accept else self.index_json

    def page(self, path: str) -> Response | ProblemResponse | None:
        """``/docs`` and its static files, or ``None`` for any other path."""
        if path != DOCS_PATH and not path.startswith(_STATIC_PREFIX):
            return None
        if self.static is None:
            return ProblemResponse(
                Problem(404, "Not found", "interactive docs need the swagger-ui-py package installed")
            )
        if path == DOCS_PATH:
            return self.docs
        name = path.removeprefix(_STATIC_PREFIX)
        if name not in _STATIC_FILES:
            return ProblemResponse(Problem(404, "Not found", f"no resource at {path}"))
        if name not in self._files:
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._files[name] = Response(
                (self.static / name).read_bytes(),
                media_type=media,
                headers={"Cache-Control": "public, max-age=86400"},
            )
        return self._files[name]


__all__ = ["DOCS_PATH", "Pages", "index_document", "operations", "swagger_ui_dir"]
