"""The skill adapter (``type: skill``): an Agent Skills catalog over HTTP.

Routes (all GET): ``/skills`` (the catalog), ``/skills/{name}`` (one skill: its front-matter fields and
tools), ``/skills/{name}/contents`` (the files of its ``location`` folder), ``/skills/{name}/contents/
{file}`` (one file) and ``/skills/{name}/download`` (the folder as a ZIP). A tool either comes ``from``
a sibling REST operation or MCP tool (its ``invocationRef`` says which adapter and action to call, the
same compiled operation those adapters serve) or is an ``instruction`` file in the skill's folder.

``location`` is ``file:///absolute/dir`` or ``file:///./dir`` relative to the capability file. Files are
served only from inside it: a path that leaves the folder (``..``, an absolute path, a symbolic link
pointing out) is a 404, like a file that does not exist.
"""

from __future__ import annotations

import io
import mimetypes
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from ..engine import Runtime
from ..spec import model as m
from ..spec.findings import Path as JsonPath
from .adapter import AdapterKind

Check = tuple[str, JsonPath, str, bool]
#: the largest folder ``/download`` zips
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
_FRONT_MATTER = (
    "license",
    "compatibility",
    "argument-hint",
    "allowed-tools",
    "user-invocable",
    "disable-model-invocation",
)
mimetypes.add_type("text/markdown", ".md")


@dataclass(frozen=True, slots=True)
class _Skill:
    name: str
    spec: Mapping[str, Any]
    root: Path | None  # the resolved location folder


def skill_folder(location: str, base_dir: str) -> Path:
    rest = location.removeprefix("file://")
    folder = Path(base_dir) / rest[1:] if rest.startswith(("/./", "/../")) else Path(rest)
    return folder.resolve()


def _siblings(doc: m.NaftikoDocument) -> dict[str, tuple[str, set[str]]]:
    """``namespace -> (mode, actions)`` for the REST and MCP adapters beside a skill adapter."""
    out: dict[str, tuple[str, set[str]]] = {}
    for a in doc.capability.exposes if doc.capability else ():
        if isinstance(a, m.ExposesRest):
            names = {o.name for r in a.resources for o in r.operations if o.name}
            out[a.namespace] = ("rest", names)
        elif isinstance(a, m.ExposesMcp):
            out[a.namespace] = ("mcp", {t.name for t in a.tools})
    return out


def check_skill(adapter: m.ExposesOther, doc: m.NaftikoDocument) -> Iterator[Check]:
    """Load-time checks: ``from`` names a sibling REST/MCP adapter and one of its actions; an
    ``instruction`` needs a ``location``; a location that is not a folder is served as 404 (warned)."""
    siblings = _siblings(doc)
    if adapter.raw.get("authentication") is not None:
        message = (
            "inbound authentication on a skill adapter is not enforced by this runtime; it is not served"
        )
        yield "error", (*adapter.path, "authentication"), message, False
    for i, skill in enumerate(adapter.raw.get("skills") or ()):
        path = (*adapter.path, "skills", i)
        location = skill.get("location")
        if isinstance(location, str) and not skill_folder(location, doc.base_dir).is_dir():
            where = skill_folder(location, doc.base_dir)
            yield (
                "warning",
                (*path, "location"),
                f"skill folder {where} does not exist (contents answer 404)",
                False,
            )
        for j, tool in enumerate(skill.get("tools") or ()):
            source = tool.get("from")
            if isinstance(source, Mapping):
                ns, action = source.get("sourceNamespace"), source.get("action")
                at = (*path, "tools", j, "from")
                if ns not in siblings:
                    names = ", ".join(sorted(siblings)) or "none"
                    yield (
                        "error",
                        (*at, "sourceNamespace"),
                        f"no REST or MCP adapter '{ns}' (there are: {names})",
                        False,
                    )
                elif action not in siblings[ns][1]:
                    mode, actions = siblings[ns]
                    known = ", ".join(sorted(actions)) or "none"
                    yield (
                        "error",
                        (*at, "action"),
                        f"{mode} adapter '{ns}' has no '{action}' (it has: {known})",
                        False,
                    )
            elif "instruction" in tool and not isinstance(location, str):
                yield (
                    "error",
                    (*path, "tools", j, "instruction"),
                    "an instruction tool needs the skill's location",
                    False,
                )


def build_skill_app(
    adapter: m.ExposesOther, runtime: Runtime, *, host: str, port: int, allow_hosts: Sequence[str] = ()
) -> ASGIApp:
    doc = runtime.document
    modes = {ns: mode for ns, (mode, _) in _siblings(doc).items()}
    skills: dict[str, _Skill] = {}
    for raw in adapter.raw.get("skills") or ():
        location = raw.get("location")
        root = skill_folder(location, doc.base_dir) if isinstance(location, str) else None
        skills[str(raw["name"])] = _Skill(str(raw["name"]), raw, root)
    catalog = {"count": len(skills), "skills": [_summary(s.spec) for s in skills.values()]}
    details = {name: _detail(s.spec, modes) for name, s in skills.items()}

    def find(request: Request) -> _Skill:
        skill = skills.get(request.path_params["name"])
        if skill is None:
            raise _NotFound(f"no skill '{request.path_params['name']}'")
        return skill

    async def list_skills(request: Request) -> Response:
        return JSONResponse(catalog)

    async def get_skill(request: Request) -> Response:
        return JSONResponse(details[find(request).name])

    async def contents(request: Request) -> Response:
        skill = find(request)
        root = _folder(skill)
        files = await run_in_threadpool(lambda: list(_files(root)))
        listing = [{"path": rel, "size": f.stat().st_size, "type": _media(f)} for rel, f in files]
        return JSONResponse({"name": skill.name, "files": listing})

    async def file(request: Request) -> Response:
        skill = find(request)
        target = _inside(_folder(skill), request.path_params["file"])
        return FileResponse(target, media_type=_media(target))

    async def download(request: Request) -> Response:
        skill = find(request)
        data = await run_in_threadpool(_zip, _folder(skill))
        headers = {"Content-Disposition": f'attachment; filename="{skill.name}.zip"'}
        return Response(data, media_type="application/zip", headers=headers)

    routes = [
        Route("/skills", list_skills, methods=["GET"]),
        Route("/skills/{name}", get_skill, methods=["GET"]),
        Route("/skills/{name}/contents", contents, methods=["GET"]),
        Route("/skills/{name}/contents/{file:path}", file, methods=["GET"]),
        Route("/skills/{name}/download", download, methods=["GET"]),
    ]
    return _Problems(Router(routes=routes))


class _NotFound(Exception):
    status = 404
    title = "Not Found"


class _TooLarge(_NotFound):
    status = 500
    title = "Skill folder too large"


class _Problems:
    """404/405 and the adapter's own refusals as problem+json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except _NotFound as exc:
            if started:
                raise
            body = {"type": "about:blank", "title": exc.title, "status": exc.status, "detail": str(exc)}
            await JSONResponse(body, exc.status, media_type="application/problem+json")(scope, receive, send)


def _summary(spec: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": spec["name"], "description": spec.get("description", "")}
    if "license" in spec:
        entry["license"] = spec["license"]
    entry["tools"] = [t["name"] for t in spec.get("tools") or ()]
    return entry


def _detail(spec: Mapping[str, Any], modes: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec["name"], "description": spec.get("description", "")}
    out.update({k: spec[k] for k in _FRONT_MATTER if k in spec})
    if spec.get("metadata"):
        out["metadata"] = dict(spec["metadata"])
    tools = []
    for tool in spec.get("tools") or ():
        entry: dict[str, Any] = {"name": tool["name"], "description": tool.get("description", "")}
        source = tool.get("from")
        if isinstance(source, Mapping):
            ns = source.get("sourceNamespace")
            entry["type"] = "derived"
            entry["invocationRef"] = {
                "targetNamespace": ns,
                "action": source.get("action"),
                "mode": modes.get(str(ns), "unknown"),
            }
        elif "instruction" in tool:
            entry["type"] = "instruction"
            entry["instruction"] = tool["instruction"]
        tools.append(entry)
    out["tools"] = tools
    return out


def _folder(skill: _Skill) -> Path:
    if skill.root is None:
        raise _NotFound(f"skill '{skill.name}' has no location")
    if not skill.root.is_dir():
        raise _NotFound(f"the folder of skill '{skill.name}' does not exist")
    return skill.root


def _inside(root: Path, relative: str) -> Path:
    """The regular file ``relative`` names inside ``root``, after following links; else 404."""
    parts = relative.replace("\\", "/").split("/")
    if relative.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\x00" in relative:
        raise _NotFound(f"no file '{relative}'")
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise _NotFound(f"no file '{relative}'")
    return target


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """Regular files under ``root`` (links followed only while they stay inside), sorted by path."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if (Path(folder) / d).resolve().is_relative_to(root))
        for name in names:
            path = Path(folder) / name
            real = path.resolve()
            if real.is_relative_to(root) and real.is_file():
                found.append((path.relative_to(root).as_posix(), real))
    yield from sorted(found)


def _zip(root: Path) -> bytes:
    out = io.BytesIO()
    total = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, path in _files(root):
            total += path.stat().st_size
            if total > MAX_DOWNLOAD_BYTES:
                raise _TooLarge(f"the skill folder is larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB")
            archive.write(path, rel)
    return out.getvalue()


def _media(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


#: the row of :data:`naftiko_runtime.exposes.ADAPTERS` for ``type: skill``
SKILL = AdapterKind("skill", m.ExposesOther, build_skill_app, check=check_skill)
