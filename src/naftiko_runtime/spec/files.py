"""Checks on the files a document names beside itself: ``outputSchema`` schema files (and, for formats
that can do without one, a warning saying what is assumed instead), and script steps' files and
languages (JavaScript runs; Python and Groovy are refused with the reason).

Relative paths are read from the capability file's directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from . import model as m
from .findings import Path

Check = tuple[str, Path, str, bool]

#: formats whose ``outputSchema`` names a schema file, and what is assumed without one
SCHEMA_FILE_FORMATS = {
    "avro": "the body is read as an Avro container file, which carries its own schema",
    "protobuf": "the message is read by field number (keys are the numbers, nested messages are guessed)",
}


def schema_file(base_dir: str, output_schema: str) -> FsPath:
    name = output_schema.removeprefix("file://").partition("#")[0]
    return (FsPath(base_dir) / name).resolve()


def check_files(doc: m.NaftikoDocument) -> Iterator[Check]:
    consumers = doc.consumes + (doc.capability.consumes if doc.capability else ())
    for consumer in consumers:
        for resource in consumer.resources:
            for op in resource.operations:
                yield from _output_schema(doc, op)
    yield from _scripts(doc)


def _output_schema(doc: m.NaftikoDocument, op: m.ConsumedHttpOperation) -> Iterator[Check]:
    assumed = SCHEMA_FILE_FORMATS.get(op.output_raw_format)
    if assumed is None:
        return
    if not op.output_schema:
        yield (
            "warning",
            (*op.path, "outputRawFormat"),
            f"{op.output_raw_format} without outputSchema: {assumed}",
            False,
        )
        return
    target = schema_file(doc.base_dir, op.output_schema)
    if not target.is_file():
        yield "error", (*op.path, "outputSchema"), f"schema file {target} does not exist", False


# --- script steps ---------------------------------------------------------------------------------------

#: languages whose steps run, and why the others are refused
RUNNABLE_LANGUAGES = ("javascript",)
REFUSED_LANGUAGES = {
    "python": "Python script steps are refused: CPython has no sandbox this runtime can defend (an "
    "in-process Python script can reach the interpreter, files and the network); write the step in "
    "JavaScript, which runs in an embedded QuickJS sandbox",
    "groovy": "Groovy script steps are refused: they need a JVM, and this runtime has no sandbox for one; "
    "write the step in JavaScript, which runs in an embedded QuickJS sandbox",
}


@dataclass(frozen=True, slots=True)
class ScriptSettings:
    """``management.scripting`` of the control adapter (the spec's defaults when there is none)."""

    enabled: bool = True
    default_language: str | None = None
    default_location: str | None = None
    timeout_ms: int = 60_000
    allowed_languages: tuple[str, ...] = ()


def script_settings(cap: m.Capability | None) -> ScriptSettings:
    for adapter in cap.exposes if cap else ():
        if isinstance(adapter, m.ExposesControl):
            scripting = adapter.management.scripting_settings
            if scripting:
                timeout = scripting.get("timeout")
                allowed = scripting.get("allowedLanguages")
                return ScriptSettings(
                    enabled=scripting.get("enabled") is not False,
                    default_language=_str(scripting.get("defaultLanguage")),
                    default_location=_str(scripting.get("defaultLocation")),
                    timeout_ms=timeout if isinstance(timeout, int) and timeout > 0 else 60_000,
                    allowed_languages=tuple(a for a in allowed if isinstance(a, str))
                    if isinstance(allowed, list)
                    else (),
                )
    return ScriptSettings()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class ScriptSource:
    language: str
    file: FsPath
    dependencies: tuple[FsPath, ...]


def script_source(doc: m.NaftikoDocument, step: m.OperationStep, settings: ScriptSettings) -> ScriptSource:
    """Where a script step's files are: ``location`` (``file:///abs`` or ``file:///./relative`` to the
    capability file; the capability file's directory without one) joined with ``file`` and each
    dependency."""
    location = step.location or settings.default_location
    rest = location.removeprefix("file://") if location else "/./"
    folder = FsPath(doc.base_dir) / rest[1:] if rest.startswith(("/./", "/../")) else FsPath(rest)
    language = step.language or settings.default_language or ""
    return ScriptSource(
        language=language,
        file=(folder / (step.file or "")).resolve(),
        dependencies=tuple((folder / d).resolve() for d in step.dependencies),
    )


def _scripts(doc: m.NaftikoDocument) -> Iterator[Check]:
    if doc.capability is None:
        return
    settings = script_settings(doc.capability)
    steps = [step for invocable in doc.invocables() for step in invocable.steps]
    for step in steps:
        if step.type != "script":
            continue
        source = script_source(doc, step, settings)
        where = (*step.path, "language") if step.language else (*step.path, "type")
        if not source.language:
            yield "error", where, "script step without a language (and no scripting.defaultLanguage)", False
            continue
        if source.language in REFUSED_LANGUAGES:
            yield "error", where, REFUSED_LANGUAGES[source.language], False
            continue
        if not settings.enabled:
            yield "error", (*step.path, "type"), "scripting is disabled by the control adapter", False
            continue
        if settings.allowed_languages and source.language not in settings.allowed_languages:
            allowed = ", ".join(settings.allowed_languages)
            yield (
                "error",
                where,
                f"{source.language} is not one of scripting.allowedLanguages ({allowed})",
                False,
            )
            continue
        for i, target in enumerate((source.file, *source.dependencies)):
            if not target.is_file():
                at = (*step.path, "file") if i == 0 else (*step.path, "dependencies", i - 1)
                yield "error", at, f"script file {target} does not exist", False
