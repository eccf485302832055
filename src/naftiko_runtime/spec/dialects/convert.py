"""Convert a document between the dialects: ``naftiko: 1.0.0-alpha2`` and ``ikanos: 1.0.0-beta5``.

Both directions walk the one translation table of :mod:`.ikanos`: towards beta5 its renames are inverted
and the lists of named items become maps keyed by name; towards alpha2 it is the loader's own reading.
What the target cannot express is refused with positioned findings (beta5 keys every entry by name, so
two entries of one name cannot be converted; alpha2 has no binary content, tags, cache hints, tunnels or
imports of exposes, aggregates and binds). Each walk records where every node it writes came from, so
the output keeps the source's comments, key order and indentation (:mod:`.commented`). Anonymous REST
resources and operations and unnamed ``ref`` tools get a key made from their path, method or ref,
reported as a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..findings import Finding, Path, has_errors
from ..yamlpos import YamlSyntaxError, load_yaml
from . import detect, ikanos
from .ikanos import DISPATCH, OBJECTS, Issue

TARGETS = {"alpha2": "1.0.0-alpha2", "beta5": ikanos.SCHEMA_VERSION}

#: how the alpha2 shape tells the kinds apart (the beta5 shape is told apart by :data:`ikanos.DISPATCH`)
ALPHA_DISPATCH: dict[str, Callable[[Any], str]] = {
    **DISPATCH,
    "consumes-item": lambda node: "import" if "location" in node else "consumes-http",
    "aggregates-item": lambda node: "aggregate",
    "binds-item": lambda node: "leaf",
    "outputs": lambda node: "outputs-named" if _named_list(node) else "outputs-mapped",
    "named-items": lambda node: "items-named" if isinstance(node, list) else "named-output",
}

#: beta-only fields, by the key that carries them (reported when converting to alpha2)
BETA_ONLY = {
    "tags": "tags (outside info)",
    "version": "info.version",
    "outputMediaType": "outputMediaType",
    "maxBinarySize": "maxBinarySize",
    "responses": "responses",
    "responseBinary": "responseBinary",
    "ttlMs": "ttlMs",
    "cacheScope": "cacheScope",
    "tunnel": "tunnel",
    "binary": "binary content",
}


def _named_list(node: Any) -> bool:
    return isinstance(node, list) and bool(node) and all(isinstance(i, dict) and "name" in i for i in node)


#: converted path -> the path of the source node it came from
Origins = dict[Path, Path]


class _Same(dict[Path, Path]):
    """The origins of a document kept in its dialect: every node comes from itself."""

    def get(self, key: Path, default: Path | None = None) -> Path | None:  # type: ignore[override]
        return key


def convert(data: Mapping[str, Any], to: str) -> tuple[Any, list[Issue], Origins]:
    """The document in the ``to`` dialect (``alpha2`` or ``beta5``), what could not be expressed, and
    where each node of the result came from."""
    if to == "alpha2":
        if "naftiko" in data:
            return {**data, "naftiko": TARGETS["alpha2"]}, [], _Same()
        translation = ikanos.translate(data)
        issues = [i for i in translation.issues if i[0] == "error"] + _beta_only(data)
        out = translation.data
        out["naftiko"] = TARGETS["alpha2"]
        return out, issues, translation.source
    if "ikanos" in data:
        return {**data, "ikanos": TARGETS["beta5"]}, [], _Same()
    back = _Back()
    out = back.node("root", data, (), ())
    out["ikanos"] = TARGETS["beta5"]
    return out, back.issues, back.source


def _beta_only(data: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    shared = ("exposes", "aggregates") if "capability" in data else ("exposes", "aggregates", "binds")
    for section in shared:
        if section in data:
            issues.append(
                ("error", (section,), f"alpha2 has no shared {section} files (root '{section}')", True)
            )
    if "capability" in data and any(s in data for s in ("consumes", "exposes", "aggregates")):
        issues.append(("error", (), "alpha2 does not allow root sections beside 'capability'", False))

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                p = (*path, key)
                what = BETA_ONLY.get(key) if isinstance(key, str) else None
                if (
                    what
                    and not (key == "tags" and path == ("info",))
                    and not (key == "version" and path != ("info",))
                ):
                    if not (key == "binary" and value is False):
                        issues.append(("error", p, f"alpha2 cannot express {what}", True))
                if key == "outputRawFormat" and value == "binary":
                    issues.append(("error", p, "alpha2 cannot express binary content", False))
                walk(value, p)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, dict) and "from" in value and len(path) == 2 and path[1] != "consumes":
                    issues.append(
                        ("error", (*path, i), f"alpha2 imports only consumers, not {path[1]}", False)
                    )
                walk(value, (*path, i))

    walk(data, ())
    for i, agg in enumerate(_capability_list(data, "aggregates")):
        if isinstance(agg, dict) and "namespace" not in agg and "from" not in agg:
            issues.append(
                ("error", ("capability", "aggregates", i), "alpha2 requires an aggregate 'namespace'", False)
            )
    return issues


def _capability_list(data: Mapping[str, Any], key: str) -> list[Any]:
    capability = data.get("capability")
    items = capability.get(key) if isinstance(capability, dict) else None
    return items if isinstance(items, list) else []


class _Back:
    """The alpha2 → beta5 walk: :data:`ikanos.OBJECTS` read backwards."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.source: Origins = {}

    def node(self, kind: str, node: Any, path: Path, new: Path) -> Any:
        """``node`` at alpha2 ``path``, written at beta5 ``new``."""
        self.source[new] = path
        while kind in ALPHA_DISPATCH:
            kind = ALPHA_DISPATCH[kind](node)
        if kind == "outputs-mapped":
            return (
                [self.node("mapped-output", v, (*path, i), (*new, i)) for i, v in enumerate(node)]
                if isinstance(node, list)
                else node
            )
        if kind in ("outputs-named", "items-named"):
            return self.keyed("named-output", node, path, new)
        if not isinstance(node, dict):
            return node
        spec = OBJECTS[kind]
        alpha_names = {alpha: beta for beta, alpha in spec.rename.items()}
        out: dict[str, Any] = {}
        for key, value in node.items():
            beta = alpha_names[key] if key in alpha_names else str(key)
            p, n = (*path, key), (*new, beta)
            self.source[n] = p
            if beta in spec.keyed:
                out[beta] = self.keyed(spec.keyed[beta], value, p, n)
            elif beta in spec.lists and isinstance(value, list):
                out[beta] = [self.node(spec.lists[beta], v, (*p, i), (*n, i)) for i, v in enumerate(value)]
            elif beta in spec.maps and isinstance(value, dict):
                out[beta] = {
                    k: self.unnamed(spec.maps[beta], v, (*p, k), (*n, k), k, kind) for k, v in value.items()
                }
            elif beta in spec.one:
                out[beta] = self.node(spec.one[beta], value, p, n)
            else:
                out[beta] = value
        return out

    def unnamed(self, kind: str, value: Any, path: Path, new: Path, key: str, owner: str) -> Any:
        built = self.node(kind, value, path, new)
        if owner == "named-output" and isinstance(built, dict) and "name" in built:
            if built["name"] != key:
                self.issues.append(
                    (
                        "error",
                        (*path, "name"),
                        f"'name' {built['name']!r} differs from its key {key!r}",
                        False,
                    )
                )
            built = {k: v for k, v in built.items() if k != "name"}
        return built

    def keyed(self, kind: str, value: Any, path: Path, new: Path) -> Any:
        self.source[new] = path
        if not isinstance(value, list):
            return value
        out: dict[str, Any] = {}
        for i, item in enumerate(value):
            p = (*path, i)
            if not isinstance(item, dict):
                self.issues.append(("error", p, "expected an object", False))
                continue
            name = item.get("name")
            if not isinstance(name, str) or not name:
                name = self.invent(item, path, out)
                self.issues.append(
                    ("warning", p, f"beta5 keys every entry by name: this one is keyed {name!r}", False)
                )
            if name in out:
                self.issues.append(
                    ("error", p, f"two entries named {name!r}: beta5 keys them by name", False)
                )
                continue
            built = self.node(kind, {k: v for k, v in item.items() if k != "name"}, p, (*new, name))
            out[name] = built
        return out

    @staticmethod
    def invent(item: Mapping[str, Any], path: Path, taken: Mapping[str, Any]) -> str:
        ref, where, method = item.get("ref"), item.get("path"), item.get("method")
        if isinstance(ref, str):
            base = ref.rsplit(".", 1)[-1]
        elif isinstance(where, str):
            base = re.sub(r"[^A-Za-z0-9]+", "-", where).strip("-") or "root"
        elif isinstance(method, str):
            base = method.lower()
        else:
            base = str(path[-1]) if path else "entry"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        return name


def convert_text(text: str, to: str, file: str = "<capability>") -> tuple[str | None, list[Finding]]:
    """The converted YAML (None when the target cannot express the document), and positioned findings."""
    try:
        data, positions = load_yaml(text)
    except YamlSyntaxError as exc:
        return None, [Finding("error", file, exc.line, exc.column, (), exc.message)]

    def finding(severity: str, path: Path, message: str, at_key: bool = False) -> Finding:
        line, column = positions.of(path, key=at_key)
        return Finding(severity, file, line, column, tuple(path), message)  # type: ignore[arg-type]

    if not isinstance(data, dict):
        return None, [finding("error", (), "a spec document is a YAML mapping")]
    dialect, where, problem = detect(data)
    if dialect is None:
        return None, [finding("error", where, problem)]
    converted, issues, origins = convert(data, to)
    findings = [finding(*issue) for issue in issues]
    if has_errors(findings):
        return None, findings
    from .commented import dump_with_comments

    return dump_with_comments(converted, text, origins.get), findings
