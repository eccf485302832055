"""Helpers shared by the dialect tests: the beta5 corpus, its alpha2 twins, and a model comparison."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .support import CONFORMANCE

BETA = CONFORMANCE / "ikanos-beta5"
ALPHA = CONFORMANCE / "capabilities"

#: fields that say where a model object was read from, not what it means
PLACE_FIELDS = {"path", "file", "source", "naftiko", "base_dir"}


def beta_documents() -> list[Path]:
    """Every spec document of the beta5 corpus (root key ``ikanos``)."""
    if not BETA.is_dir():
        return []
    return sorted(
        p for p in [*BETA.rglob("*.yml"), *BETA.rglob("*.yaml")] if "\nikanos:" in "\n" + p.read_text()
    )


def alpha_twin(beta: Path) -> Path | None:
    """The alpha2 file the beta5 file was converted from (reference §2 'Fixture evidence')."""
    rel = beta.relative_to(BETA)
    parts = rel.parts
    if parts[0] == "tutorial":
        twin = ALPHA / "tutorial" / Path(*parts[1:])
    elif parts[0] == "engine" and parts[1] == "embedding":
        twin = ALPHA / "ikanos-alpha3" / parts[-1]
    elif parts[0] == "engine" and parts[1] not in ("tutorial", "imports"):
        twin = ALPHA / "framework-alpha2" / Path(*parts[1:])
    elif parts[:2] == ("spec", "rules"):
        twin = ALPHA / "framework-alpha2" / "rules" / parts[-1]
    else:
        return None
    return twin if twin.is_file() else None


def meaning(obj: Any) -> Any:
    """A model object as plain data, without the fields that only say where it was read from."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: meaning(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.name not in PLACE_FIELDS
        } | {"": type(obj).__name__}
    if isinstance(obj, (list, tuple)):
        return [meaning(v) for v in obj]
    if isinstance(obj, dict):
        return {k: meaning(v) for k, v in obj.items()}
    return obj


def fill_invented_names(beta: Any, alpha: Any) -> Any:
    """``beta`` with the names beta had to invent blanked where alpha2 left an entry anonymous.

    Alpha2 allowed anonymous REST resources and operations and unnamed ``ref`` tools; the beta dialect keys
    every entry by name, so its twins carry invented keys there (reference §2, 'Fixture evidence').
    """
    if isinstance(beta, dict) and isinstance(alpha, dict):
        out = {k: fill_invented_names(v, alpha.get(k)) for k, v in beta.items()}
        if "name" in out and alpha.get("name") in (None, "") and "name" in alpha:
            out["name"] = alpha["name"]
        return out
    if isinstance(beta, list) and isinstance(alpha, list) and len(beta) == len(alpha):
        return [fill_invented_names(b, a) for b, a in zip(beta, alpha, strict=True)]
    return beta
