"""MCP resources, compiled: static files and folders (``location``) or dynamic ones served by an
invocation, at a fixed URI or a URI template."""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio

from ...engine import Invocation, Outcome, Runtime
from ...errors import ConfigError
from ...spec import model as m
from .blobs import OCTETS, read_binary
from .checks import location_path
from .tools import to_json
from .wire import present

#: a wire object (``Resource``, ``ResourceTemplate``, ``ReadResourceResult``)
Wire = dict[str, Any]

#: a static resource's path segments: no leading dot, so no ``..`` and no hidden files
_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_URI_VAR = re.compile(r"\{([A-Za-z0-9_.-]+)\}")


@dataclass(frozen=True, slots=True)
class Resource:
    spec: m.McpResource
    listing: tuple[Wire, ...] = ()  # what resources/list shows (nothing for a template)
    invocation: Invocation | None = None
    pattern: re.Pattern[str] | None = None  # a templated URI
    root: Path | None = None  # a static file or folder
    max_binary: int | None = None  # the adapter's ``maxBinarySize``

    @property
    def mime_type(self) -> str:
        return self.spec.mime_type or "application/json"

    def file_for(self, uri: str) -> Path | None:
        """The file a URI names inside this static resource, refusing anything that leaves its folder."""
        root = self.root
        assert root is not None
        if uri == self.spec.uri:
            return root if root.is_file() else None
        prefix = self.spec.uri.rstrip("/") + "/"
        if not uri.startswith(prefix) or not root.is_dir():
            return None
        return _inside(root, uri[len(prefix) :].split("/"))

    def uri_values(self, uri: str) -> dict[str, str] | None:
        """The template variables a URI gives this dynamic resource; None when it is not one of its URIs."""
        if self.pattern is None:
            return {} if uri == self.spec.uri else None
        match = self.pattern.match(uri)
        if match is None:
            return None
        names = _URI_VAR.findall(self.spec.uri)
        return {name: unquote(match.group(f"v{i}")) for i, name in enumerate(names)}

    def template(self) -> Wire:
        return present(
            uriTemplate=self.spec.uri,
            name=self.spec.name,
            title=self.spec.label,
            description=self.spec.description,
            mimeType=self.mime_type,
        )

    async def read_file(self, path: Path, uri: str) -> Wire:
        data = await anyio.to_thread.run_sync(path.read_bytes)
        mime = self.spec.mime_type or mimetypes.guess_type(path.name)[0] or "text/plain"
        try:
            contents = {"uri": uri, "mimeType": mime, "text": data.decode("utf-8")}
        except UnicodeDecodeError:
            contents = {"uri": uri, "mimeType": mime, "blob": base64.b64encode(data).decode("ascii")}
        return {"contents": [contents]}

    async def contents(self, uri: str, outcome: Outcome) -> Wire:
        if outcome.stream is not None:  # binary: a blob, whatever ``binary`` says
            data, media = await read_binary(outcome, self.max_binary)
            mime = self.spec.mime_type or media or OCTETS
            return {"contents": [{"uri": uri, "mimeType": mime, "blob": data}]}
        if outcome.raw is not None:
            text = outcome.raw.decode("utf-8", "replace")
            mime = self.spec.mime_type or outcome.content_type or "text/plain"
        else:
            text = "" if outcome.empty else to_json(outcome.data)
            mime = self.mime_type
        return {"contents": [{"uri": uri, "mimeType": mime, "text": text}]}


def _inside(root: Path, parts: list[str]) -> Path | None:
    if not parts or not all(_SEGMENT.match(p) for p in parts):
        return None
    target = root.joinpath(*parts).resolve()
    return target if target.is_relative_to(root) and target.is_file() else None


def _static_listing(res: m.McpResource, root: Path) -> tuple[Wire, ...]:
    def entry(uri: str, name: str, path: Path) -> Wire:
        mime = res.mime_type or mimetypes.guess_type(path.name)[0] or "text/plain"
        return present(uri=uri, name=name, title=res.label, description=res.description, mimeType=mime)

    if root.is_file():
        return (entry(res.uri, res.name, root),)
    listing = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if _inside(root, list(rel)) is not None:
            rel_path = "/".join(rel)
            listing.append(entry(f"{res.uri.rstrip('/')}/{rel_path}", f"{res.name}/{rel_path}", path))
    return tuple(listing)


def compile_resource(adapter: m.ExposesMcp, runtime: Runtime, res: m.McpResource, base: Path) -> Resource:
    if res.location is not None:
        root = location_path(res.location, base)
        if not root.exists():
            raise ConfigError(f"MCP resource '{res.name}': location {res.location} does not exist ({root})")
        return Resource(res, listing=_static_listing(res, root), root=root)
    invocation = runtime.invocation(res.name, res.invocable)
    if not _URI_VAR.search(res.uri):
        listed = present(
            uri=res.uri,
            name=res.name,
            title=res.label,
            description=res.description,
            mimeType=res.mime_type or "application/json",
        )
        return Resource(res, listing=(listed,), invocation=invocation, max_binary=adapter.max_binary_size)
    pieces, pos = [], 0
    for i, match in enumerate(_URI_VAR.finditer(res.uri)):
        pieces += [re.escape(res.uri[pos : match.start()]), f"(?P<v{i}>[^/]+)"]
        pos = match.end()
    pieces.append(re.escape(res.uri[pos:]))
    pattern = re.compile("".join(pieces) + "$")
    return Resource(res, invocation=invocation, pattern=pattern, max_binary=adapter.max_binary_size)
