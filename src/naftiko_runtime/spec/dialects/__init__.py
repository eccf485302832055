"""The spec dialects this runtime reads, one row per root key.

A document is read by the dialect whose root key it carries (never by the version string alone:
``1.0.0-alpha3`` exists in both). Each row names the versions it accepts, how it validates the document as
written, and how it translates the document into the alpha2 shape the builder reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..findings import Path
from . import ikanos

SPEC_VERSION = "1.0.0-alpha2"


@dataclass(frozen=True, slots=True)
class Dialect:
    root_key: str
    versions: tuple[str, ...]
    #: the schema problems of the document as written: ``(path, message, key)``
    schema: Callable[[Mapping[str, Any]], Iterable[tuple[Path, str, str | None]]]
    #: alpha2-shaped reading of the document, or None when it already is alpha2
    translate: Callable[[Mapping[str, Any]], ikanos.Translation] | None
    #: root sections that make a document without ``capability`` a shared file (an import source)
    shared_sections: tuple[str, ...]


def _alpha2_schema(data: Mapping[str, Any]) -> Iterable[tuple[Path, str, str | None]]:
    from ..schema import schema_issues

    # alpha1 and alpha3 documents mean the same as alpha2: validate them as alpha2
    document = data if data.get("naftiko") == SPEC_VERSION else {**data, "naftiko": SPEC_VERSION}
    return ((i.path, i.message, i.key) for i in schema_issues(document))


def _beta_schema(data: Mapping[str, Any]) -> Iterable[tuple[Path, str, str | None]]:
    from ..schema import beta_schema_issues

    # every ikanos version is read with the union of features: validate as the latest
    document = (
        data if data.get("ikanos") == ikanos.SCHEMA_VERSION else {**data, "ikanos": ikanos.SCHEMA_VERSION}
    )
    return ((i.path, i.message, i.key) for i in beta_schema_issues(document))


DIALECTS: dict[str, Dialect] = {
    "naftiko": Dialect(
        "naftiko", ("1.0.0-alpha1", SPEC_VERSION, "1.0.0-alpha3"), _alpha2_schema, None, ("consumes",)
    ),
    "ikanos": Dialect(
        "ikanos",
        ikanos.VERSIONS,
        _beta_schema,
        ikanos.translate,
        ("consumes", "exposes", "aggregates", "binds"),
    ),
}


def versions_read() -> str:
    """One line per dialect, for messages and ``--help``."""
    return "; ".join(f"{d.root_key}: {', '.join(d.versions)}" for d in DIALECTS.values())


def detect(data: Mapping[str, Any]) -> tuple[Dialect | None, Path, str]:
    """The dialect of a document, or None with the path and message of the reason it has none."""
    roots = [key for key in DIALECTS if key in data]
    if len(roots) > 1:
        return None, (roots[1],), f"a document has one root version key, not both {' and '.join(roots)}"
    if not roots:
        return None, (), f"a spec document needs a root version key ({versions_read()})"
    dialect = DIALECTS[roots[0]]
    version = data[dialect.root_key]
    if not isinstance(version, str) or version not in dialect.versions:
        shown = repr(version) if version is not None else "missing"
        return (
            None,
            (dialect.root_key,),
            f"unsupported {dialect.root_key} version {shown}: this runtime reads {versions_read()} "
            f"(all read as {SPEC_VERSION})",
        )
    return dialect, (), ""
