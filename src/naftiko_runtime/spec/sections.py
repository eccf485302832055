"""Import entries of ``exposes``, ``aggregates`` and ``binds`` (the Ikanos ``import``/``from`` form).

Consumer imports are resolved on the built model (see the loader); the other three sections are spliced
into the tree before building, so the imported adapter, aggregate or bind is then checked in the context of
the capability that imports it, as the reference engine does. Each import entry has been translated to the
alpha2 spelling (``location``) by the dialect module; findings about the spliced entry point at it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

from .findings import Path
from .yamlpos import YamlSyntaxError, load_yaml

SECTIONS = ("exposes", "aggregates", "binds")

Report = Callable[..., None]


def splice_section_imports(data: Any, base_dir: FsPath, report: Report) -> bool:
    """Replace each import entry by the entry it names; False when one could not be resolved (reported)."""
    capability = data.get("capability") if isinstance(data, dict) else None
    if not isinstance(capability, dict):
        return True
    ok = True
    cache: dict[FsPath, Any] = {}
    for section in SECTIONS:
        items = capability.get(section)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict) and "location" in item and "import" in item:
                entry = _imported(section, item, ("capability", section, i), base_dir, cache, report)
                if entry is None:
                    ok = False
                else:
                    items[i] = entry
    return ok


def _imported(
    section: str,
    item: dict[str, Any],
    where: Path,
    base_dir: FsPath,
    cache: dict[FsPath, Any],
    report: Report,
) -> dict[str, Any] | None:
    location, name, alias = item.get("location"), item.get("import"), item.get("as")
    if not isinstance(location, str) or not isinstance(name, str):
        report("error", where, "an import entry needs 'from' and 'import' as strings")
        return None
    target = _target(location, base_dir)
    if target is None or not target.is_file():
        report("error", (*where, "location"), f"imported {section} file {location} does not exist")
        return None
    if target not in cache:
        cache[target] = _read(target)
    source = cache[target]
    if isinstance(source, str):
        report("error", (*where, "location"), f"imported {section} file {location}: {source}")
        return None
    entries = source.get(section)
    if not isinstance(entries, list) and isinstance(source.get("capability"), dict):
        entries = source["capability"].get(section)
    match = next(
        (e for e in entries or () if isinstance(e, dict) and "from" not in e and e.get("namespace") == name),
        None,
    )
    if match is None:
        names = ", ".join(
            str(e["namespace"]) for e in entries or () if isinstance(e, dict) and "namespace" in e
        )
        report(
            "error",
            (*where, "import"),
            f"{location} has no {section} namespace '{name}' (it has: {names or 'none'})",
        )
        return None
    entry = copy.deepcopy(match)
    if isinstance(alias, str):
        entry["namespace"] = alias
    return entry


def _target(location: str, base_dir: FsPath) -> FsPath | None:
    if location.startswith("file:"):
        location = location.removeprefix("file:").removeprefix("//")
    elif "://" in location:
        return None
    return (base_dir / location).resolve()


def _read(target: FsPath) -> Any:
    """The source document translated to the alpha2 shape, or a message saying why it cannot be read."""
    from .dialects import detect

    try:
        data, _ = load_yaml(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return "cannot be read"
    except YamlSyntaxError as exc:
        return f"{exc.message} (line {exc.line})"
    if not isinstance(data, dict):
        return "is not a spec document"
    dialect, _, problem = detect(data)
    if dialect is None:
        return problem
    return dialect.translate(data).data if dialect.translate is not None else data
