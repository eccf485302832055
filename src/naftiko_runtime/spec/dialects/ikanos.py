"""The Ikanos dialect (``ikanos: 1.0.0-alpha3`` ... ``1.0.0-beta5``), read as the alpha2 shape.

One table, :data:`OBJECTS`, says per spec object how a beta node maps onto its alpha2 twin: renamed
keys (``display`` -> ``label``, ``flows`` -> ``functions``, ``target`` -> ``targetName``, ``from`` ->
``location``), collections keyed by name that alpha2 wrote as lists of named items, and the children to
walk. The walk
returns the alpha2-shaped tree plus, for every node it produced, the path of the beta node it came from, so
findings about the translated tree are reported at the beta document's own lines and JSON paths.

Readings of the dialect's loose ends (see the ambiguities of the reference):
- a legacy list inside a keyed collection is read as alpha2 reads it (the schema pass warns), so an item
  needs a ``name`` exactly where alpha2 required one;
- a shared file (no ``capability``) holds no imports, and its entries need a ``namespace`` to be importable;
- ``name`` inside a keyed value is ignored with a warning when it differs from the key (the key wins);
- ``tunnel`` is refused at load: this runtime opens no tunnels (``fallback: direct`` only warns, and the
  consumer dials ``baseUri`` as the engine itself does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..findings import Path

#: ``ikanos`` values read (each schema accepts only its own const; the reading is the union of features)
VERSIONS = (
    "1.0.0-alpha3",
    "1.0.0-alpha4",
    "1.0.0-beta1",
    "1.0.0-beta2",
    "1.0.0-beta3",
    "1.0.0-beta4",
    "1.0.0-beta5",
)

#: the version the project's beta schema copy is written for
SCHEMA_VERSION = "1.0.0-beta5"

Issue = tuple[str, Path, str, bool]  # (severity, beta path, message, at_key)


@dataclass(frozen=True, slots=True)
class Obj:
    """How one spec object translates. Kinds name rows of :data:`OBJECTS` or :data:`DISPATCH`."""

    rename: Mapping[str, str] = field(default_factory=dict)  # beta key -> alpha key
    keyed: Mapping[str, str] = field(default_factory=dict)  # map keyed by name -> list of named items
    lists: Mapping[str, str] = field(default_factory=dict)  # list in both dialects
    maps: Mapping[str, str] = field(default_factory=dict)  # map in both dialects
    one: Mapping[str, str] = field(default_factory=dict)  # single child object


_SECTIONS = {"consumes": "consumes-item", "exposes": "exposes-item", "aggregates": "aggregates-item"}
_DISPLAY = {"display": "label"}
_INVOCABLE = {"mappings": "mapping"}

OBJECTS: dict[str, Obj] = {
    "root": Obj(
        rename={"ikanos": "naftiko"},
        lists={**_SECTIONS, "binds": "binds-item"},
        one={"info": "info", "capability": "capability"},
    ),
    "capability": Obj(lists={**_SECTIONS, "binds": "binds-item"}),
    "info": Obj(rename=_DISPLAY),
    "import": Obj(rename={"from": "location"}),
    "leaf": Obj(),
    "consumes-http": Obj(keyed={"resources": "consumed-resource", "inputParameters": "leaf"}),
    "consumed-resource": Obj(
        rename=_DISPLAY, keyed={"operations": "consumed-operation", "inputParameters": "leaf"}
    ),
    "consumed-operation": Obj(rename=_DISPLAY, keyed={"inputParameters": "leaf", "outputParameters": "leaf"}),
    "exposes-rest": Obj(keyed={"resources": "exposed-resource"}),
    "exposed-resource": Obj(
        rename=_DISPLAY, keyed={"operations": "exposed-operation", "inputParameters": "leaf"}
    ),
    "exposed-operation": Obj(
        rename=_DISPLAY,
        keyed={"inputParameters": "leaf", "steps": "leaf"},
        lists=_INVOCABLE,
        one={"outputParameters": "outputs"},
    ),
    "exposes-mcp": Obj(keyed={"tools": "mcp-tool", "resources": "mcp-resource", "prompts": "mcp-prompt"}),
    "mcp-tool": Obj(
        rename=_DISPLAY,
        keyed={"inputParameters": "leaf", "steps": "leaf"},
        lists=_INVOCABLE,
        one={"outputParameters": "outputs"},
    ),
    "mcp-resource": Obj(
        rename=_DISPLAY, keyed={"steps": "leaf"}, lists=_INVOCABLE, one={"outputParameters": "outputs"}
    ),
    "mcp-prompt": Obj(rename=_DISPLAY, keyed={"arguments": "prompt-argument"}),
    "prompt-argument": Obj(rename=_DISPLAY),
    "exposes-skill": Obj(keyed={"skills": "skill"}),
    "skill": Obj(keyed={"tools": "leaf"}),
    "aggregate": Obj(rename={**_DISPLAY, "flows": "functions"}, keyed={"flows": "flow"}),
    "flow": Obj(
        keyed={"inputParameters": "leaf", "steps": "leaf"},
        lists=_INVOCABLE,
        one={"outputParameters": "outputs"},
    ),
    "mapping": Obj(rename={"target": "targetName"}),
    "mapped-output": Obj(maps={"properties": "mapped-output"}, one={"items": "mapped-output"}),
    "named-output": Obj(maps={"properties": "named-output"}, one={"items": "named-items"}),
}


def _consumes_item(node: Mapping[str, Any]) -> str:
    return "import" if "from" in node else "consumes-http"


def _exposes_item(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    return (
        "import"
        if "from" in node
        else {"rest": "exposes-rest", "mcp": "exposes-mcp"}.get(
            kind if isinstance(kind, str) else "", "exposes-skill" if kind == "skill" else "leaf"
        )
    )


def _outputs(node: Any) -> str:
    """A list of outputs is mapped (call mode); a map keyed by name is orchestrated or mock."""
    return "outputs-mapped" if isinstance(node, list) else "outputs-named"


def _named_items(node: Any) -> str:
    """Orchestrated array ``items``: a map of named params (a list in alpha2), or one output object."""
    if isinstance(node, dict) and node and all(isinstance(v, dict) for v in node.values()):
        return "items-named"
    return "named-output"


DISPATCH: dict[str, Callable[[Any], str]] = {
    "consumes-item": _consumes_item,
    "exposes-item": _exposes_item,
    "aggregates-item": lambda node: "import" if "from" in node else "aggregate",
    "binds-item": lambda node: "import" if "from" in node else "leaf",
    "outputs": _outputs,
    "named-items": _named_items,
}


@dataclass(slots=True)
class Translation:
    """The alpha2-shaped tree, where each of its nodes came from, and what the dialect itself found."""

    data: Any
    source: dict[Path, Path]
    issues: list[Issue]

    def to_source(self, path: Path) -> Path:
        """The beta path of an alpha2 path: its longest translated prefix, then the rest unchanged."""
        p = tuple(path)
        for cut in range(len(p), -1, -1):
            hit = self.source.get(p[:cut])
            if hit is not None:
                return (*hit, *p[cut:])
        return p


def translate(data: Mapping[str, Any]) -> Translation:
    t = Translation(None, {}, [])
    t.data = _Walker(t).node("root", data, (), ())
    if "capability" not in data:
        t.issues.extend(_shared_file_issues(data))
    return t


def _shared_file_issues(data: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    for section in ("consumes", "exposes", "aggregates", "binds"):
        items = data.get(section)
        for i, item in enumerate(items if isinstance(items, list) else ()):
            if not isinstance(item, dict):
                continue
            if "from" in item:
                issues.append(
                    (
                        "error",
                        (section, i),
                        "a shared file cannot import: imports are not followed transitively",
                        False,
                    )
                )
            elif "namespace" not in item and item.get("type") != "control":
                issues.append(
                    (
                        "error",
                        (section, i),
                        "'namespace' is required (it is how this entry is imported)",
                        False,
                    )
                )
    return issues


class _Walker:
    def __init__(self, t: Translation) -> None:
        self.t = t

    def node(self, kind: str, node: Any, beta: Path, alpha: Path) -> Any:
        self.t.source[alpha] = beta
        while kind in DISPATCH:
            kind = DISPATCH[kind](node)
        if kind == "outputs-mapped":
            return [self.node("mapped-output", v, (*beta, i), (*alpha, i)) for i, v in enumerate(node)]
        if kind in ("outputs-named", "items-named"):
            return self.keyed("named-output", node, beta, alpha)
        if not isinstance(node, dict):
            return node
        spec = OBJECTS[kind]
        if kind == "consumes-http" and "tunnel" in node:
            self.tunnel(node["tunnel"], (*beta, "tunnel"))
        out: dict[str, Any] = {}
        for key, value in node.items():
            new_key = spec.rename.get(key, key)
            if new_key in out or (new_key != key and new_key in node):
                self.t.issues.append(
                    ("error", (*beta, key), f"'{key}' and '{new_key}' mean the same here", True)
                )
                continue
            b, a = (*beta, key), (*alpha, new_key)
            if key in spec.keyed:
                out[new_key] = self.keyed(spec.keyed[key], value, b, a)
            elif key in spec.lists and isinstance(value, list):
                self.t.source[a] = b
                out[new_key] = [self.node(spec.lists[key], v, (*b, i), (*a, i)) for i, v in enumerate(value)]
            elif key in spec.maps and isinstance(value, dict):
                self.t.source[a] = b
                out[new_key] = {
                    k: self.named(spec.maps[key], v, (*b, k), (*a, k), k, kind) for k, v in value.items()
                }
            elif key in spec.one:
                out[new_key] = self.node(spec.one[key], value, b, a)
            else:
                self.t.source[a] = b
                out[new_key] = value
        return out

    def named(self, kind: str, value: Any, beta: Path, alpha: Path, key: str, owner: str) -> Any:
        """A value of a map that alpha2 also kept as a map (orchestrated properties repeat their name)."""
        built = self.node(kind, value, beta, alpha)
        if owner == "named-output" and isinstance(built, dict) and "name" not in built:
            built = {"name": key, **built}
        return built

    def keyed(self, kind: str, value: Any, beta: Path, alpha: Path) -> Any:
        """A map keyed by name becomes alpha2's list of named items (key order kept)."""
        self.t.source[alpha] = beta
        if isinstance(value, list):
            return self.legacy_list(kind, value, beta, alpha)
        if not isinstance(value, dict):
            return value  # the builder reports the wrong type at this path
        out = []
        for i, (key, item) in enumerate(value.items()):
            b, a = (*beta, key), (*alpha, i)
            built = self.node(kind, item, b, a)
            if isinstance(built, dict):
                inner = built.get("name")
                if inner is not None and inner != key:
                    self.t.issues.append(
                        (
                            "warning",
                            (*b, "name"),
                            f"'name' {inner!r} is ignored: the key {key!r} names this entry",
                            False,
                        )
                    )
                built = {"name": key, **{k: v for k, v in built.items() if k != "name"}}
                self.t.source[(*a, "name")] = b
            out.append(built)
        return out

    def legacy_list(self, kind: str, value: list[Any], beta: Path, alpha: Path) -> list[Any]:
        """The alpha2 list form, read as alpha2 reads it (the schema pass warns that it is not beta)."""
        return [self.node(kind, item, (*beta, i), (*alpha, i)) for i, item in enumerate(value)]

    def tunnel(self, tunnel: Any, beta: Path) -> None:
        fallback = tunnel.get("fallback", "fail") if isinstance(tunnel, dict) else "fail"
        if fallback == "direct":
            self.t.issues.append(
                (
                    "warning",
                    beta,
                    "tunnels are not supported: with fallback 'direct', baseUri is dialled directly",
                    True,
                )
            )
        else:
            self.t.issues.append(
                (
                    "error",
                    beta,
                    "tunnels are not supported by this runtime (fallback 'fail' would refuse every call)",
                    True,
                )
            )
