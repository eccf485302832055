"""``naftiko import openapi``: an OpenAPI description (Swagger 2.0, OpenAPI 3.0 or 3.1) as a capability.

The capability consumes the API (one resource per path, one operation per method, its path, query,
header and cookie parameters, a JSON body passed through as ``body``) and exposes every operation twice,
ready to serve: over REST on the same paths, and over MCP as tools whose hints follow from the method
(GET reads; PUT and DELETE are idempotent and destructive; POST is neither). Names come from
``operationId`` in kebab case, else from the method and path. Only local ``$ref``s are followed.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .. import SPEC_VERSION

METHODS = ("get", "post", "put", "patch", "delete")
_TYPES = ("string", "number", "integer", "boolean", "array", "object")
#: MCP hints for each method: what a client may assume about a call
HINTS: Mapping[str, Mapping[str, bool]] = {
    "GET": {"readOnly": True, "openWorld": True},
    "POST": {"readOnly": False, "destructive": False, "idempotent": False, "openWorld": True},
    "PUT": {"readOnly": False, "destructive": True, "idempotent": True, "openWorld": True},
    "PATCH": {"readOnly": False, "destructive": True, "idempotent": False, "openWorld": True},
    "DELETE": {"readOnly": False, "destructive": True, "idempotent": True, "openWorld": True},
}


class OpenApiImportError(ValueError):
    """The input is not an OpenAPI description this importer reads."""


def read_source(source: str) -> Any:
    """Parse ``source`` (a path, or an http(s) URL) as JSON or YAML."""
    try:
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310 - http(s) only
                text = response.read().decode("utf-8")
        else:
            text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OpenApiImportError(f"cannot read {source}: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OpenApiImportError(f"{source} is neither JSON nor YAML: {exc}") from None


def kebab(text: str) -> str:
    """``listPets`` -> ``list-pets``; ``/pets/{petId}`` -> ``pets-petid``; only ``[a-z0-9-]`` survives."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-") or "api"


def _param_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_*-]", "_", name)


class _Doc:
    def __init__(self, spec: Mapping[str, Any], source: str) -> None:
        self.spec = spec
        self.source = source
        self.swagger2 = str(spec.get("swagger", "")).startswith("2")
        version = str(spec.get("openapi", ""))
        if not self.swagger2 and not version.startswith("3."):
            raise OpenApiImportError(
                f"{source} is not Swagger 2.0 or OpenAPI 3.x (no 'swagger' or 'openapi')"
            )
        self.notes: list[str] = []

    def resolve(self, node: Any, seen: frozenset[str] = frozenset()) -> Any:
        """Follow a local ``$ref`` (``#/...``); other references are left as they are."""
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                return {}
            seen = seen | {ref}
            target: Any = self.spec
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, Mapping) else None
            node = target if target is not None else {}
        return node

    def base_uri(self) -> str:
        if self.swagger2:
            host = self.spec.get("host")
            schemes = self.spec.get("schemes") or ["https"]
            if host:
                return f"{schemes[0]}://{host}{self.spec.get('basePath', '')}".rstrip("/")
        else:
            for server in self.spec.get("servers") or ():
                url = str(server.get("url", ""))
                for name, var in (server.get("variables") or {}).items():
                    url = url.replace("{" + name + "}", str(var.get("default", "")))
                if url.startswith(("http://", "https://")) and "{" not in url:
                    return url.rstrip("/")
        self.notes.append("no absolute server URL: baseUri is http://localhost, point it at the API")
        return "http://localhost"

    def type_of(self, schema: Any) -> str:
        schema = self.resolve(schema)
        kind = schema.get("type") if isinstance(schema, Mapping) else None
        if isinstance(kind, list):  # 3.1: ["string", "null"]
            kind = next((k for k in kind if k != "null"), None)
        if kind in _TYPES:
            return str(kind)
        if isinstance(schema, Mapping) and ("properties" in schema or "allOf" in schema):
            return "object"
        return "string"

    def parameters(self, path_item: Mapping[str, Any], op: Mapping[str, Any]) -> list[dict[str, Any]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in (*(path_item.get("parameters") or ()), *(op.get("parameters") or ())):
            p = self.resolve(raw)
            if isinstance(p, Mapping) and p.get("in") in ("path", "query", "header", "cookie"):
                merged[(str(p["in"]), str(p.get("name")))] = dict(p)
        return list(merged.values())

    def has_json_body(self, op: Mapping[str, Any]) -> tuple[bool, bool]:
        """(the operation takes a JSON body, the body is required)."""
        if self.swagger2:
            for raw in op.get("parameters") or ():
                p = self.resolve(raw)
                if isinstance(p, Mapping) and p.get("in") == "body":
                    return True, bool(p.get("required"))
            return False, False
        body = self.resolve(op.get("requestBody"))
        if not isinstance(body, Mapping) or not body.get("content"):
            return False, False
        return True, bool(body.get("required"))


def import_openapi(spec: Any, source: str = "<openapi>") -> tuple[dict[str, Any], list[str]]:
    """The capability document for ``spec``, and notes on what was assumed."""
    if not isinstance(spec, Mapping):
        raise OpenApiImportError(f"{source} is not an OpenAPI document (not a mapping)")
    doc = _Doc(spec, source)
    info = spec.get("info") or {}
    title = str(info.get("title") or "API")
    ns = kebab(title)
    consumed: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    used: set[str] = set()
    for path, raw_item in (spec.get("paths") or {}).items():
        item = doc.resolve(raw_item)
        template = re.sub(r"\{([^}]+)\}", lambda mt: "{{" + _param_name(mt.group(1)) + "}}", str(path))
        c_ops: list[dict[str, Any]] = []
        r_ops: list[dict[str, Any]] = []
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, Mapping):
                continue
            name = kebab(str(op.get("operationId") or f"{method}-{path}"))
            base, n = name, 2
            while name in used:
                name, n = f"{base}-{n}", n + 1
            used.add(name)
            text = str(op.get("summary") or op.get("description") or f"{method.upper()} {path}")
            params = doc.parameters(item, op)
            body, body_required = doc.has_json_body(op)
            c_params = [{"name": _param_name(str(p["name"])), "in": p["in"]} for p in params]
            r_params: list[dict[str, Any]] = []
            t_params: list[dict[str, Any]] = []
            for p in params:
                schema = p.get("schema", p)  # 2.0 puts the type on the parameter itself
                entry = {
                    "name": _param_name(str(p["name"])),
                    "type": doc.type_of(schema),
                    "description": str(p.get("description") or f"{p['in']} parameter {p['name']}"),
                }
                required = bool(p.get("required")) or p["in"] == "path"
                r_params.append({**entry, "in": p["in"]})
                t_params.append({**entry, "required": required})
            if body:
                c_params.append({"name": "body", "in": "body"})
                entry = {"name": "body", "type": "object", "description": "the JSON request body"}
                r_params.append({**entry, "in": "body"})
                t_params.append({**entry, "required": body_required})
            consumed_op: dict[str, Any] = {"name": name, "method": method.upper(), "description": text}
            if c_params:
                consumed_op["inputParameters"] = c_params
            c_ops.append(consumed_op)
            exposed: dict[str, Any] = {"name": name, "method": method.upper(), "description": text}
            if r_params:
                exposed["inputParameters"] = r_params
            exposed["call"] = f"{ns}.{name}"
            r_ops.append(exposed)
            tool: dict[str, Any] = {"name": name, "description": text}
            if op.get("summary"):
                tool["label"] = str(op["summary"])
            tool["hints"] = dict(HINTS[method.upper()])
            if t_params:
                tool["inputParameters"] = t_params
            tool["call"] = f"{ns}.{name}"
            tools.append(tool)
        for method in ("head", "options", "trace"):
            if isinstance(item.get(method), Mapping):
                doc.notes.append(f"{method.upper()} {path} is left out (a capability has no such method)")
        if c_ops:
            rname = kebab(str(path))
            consumed.append({"name": rname, "path": template, "operations": c_ops})
            rest.append({"name": rname, "path": template, "operations": r_ops})
    if not consumed:
        raise OpenApiImportError(f"{source} has no GET, POST, PUT, PATCH or DELETE operation")
    capability: dict[str, Any] = {
        "naftiko": SPEC_VERSION,
        "info": {"label": title, "description": str(info.get("description") or f"{title}, imported")},
        "capability": {
            "consumes": [{"type": "http", "namespace": ns, "baseUri": doc.base_uri(), "resources": consumed}],
            "exposes": [
                {"type": "rest", "namespace": f"{ns}-rest", "port": 8080, "resources": rest},
                {"type": "mcp", "namespace": f"{ns}-mcp", "port": 9090, "tools": tools},
            ],
        },
    }
    return capability, doc.notes


def dump(capability: Mapping[str, Any], source: str) -> str:
    body = yaml.safe_dump(dict(capability), sort_keys=False, allow_unicode=True, width=110)
    return f"# Imported from {source} by naftiko import openapi\n{body}"


__all__ = ["HINTS", "OpenApiImportError", "dump", "import_openapi", "kebab", "read_source"]
