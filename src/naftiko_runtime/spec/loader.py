"""Load a capability file: parse, check the version, validate, build the model, resolve imports, check.

Every problem becomes a :class:`Finding` at the line and column of the offending node. Errors mean the
file cannot be interpreted; warnings are schema deviations the runtime can still read (``--strict``
turns them into errors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path as FsPath
from typing import Any

from ..errors import SpecError
from . import model as m
from .builder import Builder
from .checks import check_document
from .dialects import DIALECTS, SPEC_VERSION, detect
from .findings import Finding, Path, Severity, has_errors, sort_findings
from .paths import rewrite_paths
from .sections import splice_section_imports
from .yamlpos import Positions, YamlSyntaxError, load_yaml

__all__ = ["COMPATIBLE_VERSIONS", "SPEC_VERSION", "LoadResult", "load_file", "load_text"]

#: Versions whose documents mean the same as alpha2 (alpha3 differs from alpha2 only in this string).
COMPATIBLE_VERSIONS = DIALECTS["naftiko"].versions


@dataclass(frozen=True, slots=True)
class LoadResult:
    file: str
    document: m.NaftikoDocument | None
    findings: tuple[Finding, ...]
    #: where every node sits, by file (the capability and the consumer files it imports)
    positions: Mapping[str, Positions] = field(default_factory=dict, repr=False, compare=False)
    #: the schema deviations, when their check was deferred (``load_file(..., schema=False)``)
    pending_schema: Callable[[], list[Finding]] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.document is not None and not has_errors(self.findings)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def finding(self, severity: Severity, file: str, path: Path, message: str) -> Finding:
        """A finding about a node of this document (or of a file it imports), at the node's position."""
        positions = self.positions.get(file)
        line, col = positions.of(path) if positions is not None else (1, 1)
        return Finding(severity, file, line, col, tuple(path), message)

    def with_findings(self, findings: Iterable[Finding]) -> LoadResult:
        """This result with more findings (errors among them make it not ``ok``)."""
        return replace(self, findings=tuple(sort_findings((*self.findings, *findings))))

    def strict(self) -> LoadResult:
        return replace(self, findings=tuple(f.escalated() for f in self.findings))

    def with_schema(self) -> LoadResult:
        """This result with its deferred schema deviations among its findings (itself when none are)."""
        if self.pending_schema is None:
            return self
        findings = _dedupe((*self.findings, *self.pending_schema()))
        return replace(self, findings=tuple(sort_findings(findings)), pending_schema=None)

    def require(self, *, strict: bool = False) -> m.NaftikoDocument:
        """The document, or :class:`SpecError` with every finding when it cannot be served."""
        result = self.strict() if strict else self
        if result.document is None or has_errors(result.findings):
            raise SpecError(result.findings)
        return result.document


class _Reporter:
    def __init__(self, file: str, positions: Positions) -> None:
        self.file = file
        self.positions = positions
        self.imported: dict[str, Positions] = {}
        self.findings: list[Finding] = []
        #: maps a path of the tree the builder reads to the path of the document as written
        self.to_source: Callable[[Path], Path] = tuple

    def add(self, severity: str, path: Path, message: str, *, at_key: bool = False) -> None:
        path = self.to_source(path)
        line, col = self.positions.of(path, key=at_key)
        self.findings.append(Finding(severity, self.file, line, col, tuple(path), message))  # type: ignore[arg-type]


def load_file(path: str | FsPath, *, display_name: str | None = None, schema: bool = True) -> LoadResult:
    """Load a capability file. ``schema=False`` defers the check against the JSON Schema, which only ever
    finds warnings: the result's :meth:`~LoadResult.with_schema` (or ``pending_schema``) runs it later."""
    file = FsPath(path)
    name = display_name or str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadResult(name, None, (Finding("error", name, 1, 1, (), "file not found"),))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return LoadResult(name, None, (Finding("error", name, 1, 1, (), f"cannot read the file: {reason}"),))
    return load_text(text, name, base_dir=file.resolve().parent, schema=schema)


def load_text(
    text: str, file: str = "<capability>", *, base_dir: FsPath | None = None, schema: bool = True
) -> LoadResult:
    try:
        data, positions = load_yaml(text)
    except YamlSyntaxError as exc:
        return LoadResult(file, None, (Finding("error", file, exc.line, exc.column, (), exc.message),))
    report = _Reporter(file, positions)
    document = _interpret(data, report, base_dir or FsPath.cwd(), schema=schema)
    findings = _dedupe(report.findings)
    if has_errors(findings):
        document = None
    positions_by_file = {**report.imported, file: positions}
    pending = (
        partial(_deferred_schema, data, file, positions) if not schema and isinstance(data, dict) else None
    )
    return LoadResult(file, document, tuple(sort_findings(findings)), positions_by_file, pending)


def _deferred_schema(data: dict[str, Any], file: str, positions: Positions) -> list[Finding]:
    report = _Reporter(file, positions)
    _schema_deviations(data, report)
    return report.findings


def _schema_deviations(data: dict[str, Any], report: _Reporter) -> None:
    """The document as written against its dialect's JSON Schema: every deviation is a warning."""
    dialect, _, _ = detect(data)
    if dialect is None:
        return
    for path, message, key in dialect.schema(data):
        if _assumed(data, path):
            continue
        if key is not None:
            report.add("warning", (*path, key), message, at_key=True)
        else:
            report.add("warning", path, message)


def _interpret(data: Any, report: _Reporter, base_dir: FsPath, *, schema: bool) -> m.NaftikoDocument | None:
    if not isinstance(data, dict):
        report.add(
            "error", (), "a Naftiko document must be a YAML mapping with a 'naftiko' or 'ikanos' version"
        )
        return None
    dialect, where, problem = detect(data)
    if dialect is None:
        report.add("error", where, problem)
        return None
    if schema:
        _schema_deviations(data, report)
    translation = None
    if dialect.translate is not None:
        translation = dialect.translate(data)
        for severity, path, message, at_key in translation.issues:
            report.add(severity, path, message, at_key=at_key)
        report.to_source = translation.to_source
        data = translation.data
        if not splice_section_imports(data, base_dir, report.add):
            return None
    builder = Builder(report.file)
    document = builder.document(data, shared_sections=dialect.shared_sections)
    for path, message in builder.errors:
        report.add("error", path, message)
    if document is None or builder.errors:
        return None
    document = _resolve_imports(replace(document, base_dir=str(base_dir)), report, base_dir)
    for severity, path, message, at_key in check_document(document):
        report.add(severity, path, message, at_key=at_key)
    if translation is not None:
        document = rewrite_paths(document, translation.to_source)
    return document


def _assumed(data: Any, path: Path) -> bool:
    """A schema deviation the runtime reads on purpose, with a check saying what it assumed."""
    if path[-1:] == ("baseUri",):
        return m.template_name(str(_at(data, path))) is not None  # read at start from binds or environ
    if path[-1:] == ("body",):
        node = _at(data, path)
        return isinstance(node, dict) and "type" not in node  # a plain map sent as JSON data
    return False


def _at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _resolve_imports(document: m.NaftikoDocument, report: _Reporter, base_dir: FsPath) -> m.NaftikoDocument:
    capability = document.capability
    if capability is None or not capability.imports:
        return document
    resolved: list[m.ConsumesHttp] = list(capability.consumes)
    for imported in capability.imports:
        where = (*imported.path, "location")
        target = (base_dir / imported.location).resolve()
        if not target.is_file():
            report.add("error", where, f"imported consumer file {imported.location} does not exist")
            continue
        sub = load_file(target, display_name=_display(target))
        report.imported.update(sub.positions)
        # the imported file's own findings, warnings too, at their own file:line
        report.findings.extend(sub.findings)
        if sub.document is None:
            report.add("error", where, f"imported consumer file {imported.location} has errors")
            continue
        source_consumes = list(sub.document.consumes)
        if sub.document.capability is not None:
            source_consumes += list(sub.document.capability.consumes)
        match = next((c for c in source_consumes if c.namespace == imported.import_), None)
        if match is None:
            names = ", ".join(c.namespace for c in source_consumes) or "none"
            report.add(
                "error",
                (*imported.path, "import"),
                f"{imported.location} has no consumes namespace '{imported.import_}' (it has: {names})",
            )
            continue
        resolved.append(replace(match, namespace=imported.as_ or match.namespace, path=imported.path))
    return replace(document, capability=replace(capability, consumes=tuple(resolved)))


def _display(target: FsPath) -> str:
    try:
        return str(target.relative_to(FsPath.cwd()))
    except ValueError:
        return str(target)


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """Drop a schema warning when an error already speaks for the same node."""
    items = list(findings)
    error_paths = {f.path for f in items if f.severity == "error"}
    out: list[Finding] = []
    seen: set[tuple[str, int, int, str]] = set()
    for f in items:
        if f.severity == "warning" and any(f.path[: len(p)] == p and p for p in error_paths):
            continue
        key = (f.file, f.line, f.column, f.message)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out
