"""The official corpus: every alpha2 capability validates as the official schema says and builds its servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from naftiko_runtime.errors import BindingError
from naftiko_runtime.exposes import adapter_kind
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.spec.loader import load_file

from .support import CONFORMANCE, requires_shared

pytestmark = requires_shared

ROOT = CONFORMANCE / "capabilities"
ALPHA2 = (
    sorted(
        p
        for p in ROOT.rglob("*.y*ml")
        if p.is_file() and "naftiko: 1.0.0-alpha2" in p.read_text().replace('"', "")
    )
    if ROOT.is_dir()
    else []
)

#: valid against the schema, refused at load by design (the reference engine refuses it too)
LOAD_ERRORS = {
    "aggregates/aggregate-invalid-ref.yaml": ["ref 'unknown.nonexistent' names no aggregate function"],
    # its scripts live on the authors' machine; its Python step is refused (no sandbox to defend)
    "schema-examples/script-step.yml": [
        "script file /app/capabilities/scripts/filter-active.js does not exist",
        "script file /app/capabilities/scripts/lib/array-utils.js does not exist",
        "Python script steps are refused",
    ],
}
#: valid, and loads with a warning that says what the runtime assumes
WARNINGS = {
    "formats/avro-capability.yaml": "avro without outputSchema: the body is read as an Avro container file",
    "formats/proto-capability.yaml": "protobuf without outputSchema: the message is read by field number",
}
#: valid, and loads, but cannot be served here: the reason is reported, never a traceback
NOT_SERVED: dict[str, tuple[type[Exception], str]] = {}


class _AnyEnvironment(dict[str, str]):
    """Every variable a bind asks for exists (the corpus names its own)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return f"value-of-{key.lower()}"


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT / "framework-alpha2")) if "framework-alpha2" in path.parts else path.name


#: capability documents (not the shared consumes files they import) that load
SERVABLE = [p for p in ALPHA2 if "\ncapability:" in p.read_text() and _name(p) not in LOAD_ERRORS]


def test_the_corpus_is_there() -> None:
    assert len(ALPHA2) >= 45 and len(SERVABLE) >= 40


@pytest.mark.parametrize("path", ALPHA2, ids=[_name(p) for p in ALPHA2])
def test_alpha2_files_validate_as_the_official_schema_says(path: Path) -> None:
    result = load_file(path)
    warnings = [f.message for f in result.warnings()]
    expected_warning = WARNINGS.get(_name(path))
    if expected_warning is None:
        assert not warnings, [f.format() for f in result.warnings()]
    else:
        assert len(warnings) == 1 and warnings[0].startswith(expected_warning), warnings
    expected = LOAD_ERRORS.get(_name(path))
    if expected is None:
        assert not result.errors(), [f.format() for f in result.errors()]
    else:
        messages = [f.message for f in result.errors()]
        assert len(messages) == len(expected), messages
        assert all(m.startswith(e) for m, e in zip(messages, expected, strict=True)), messages


@pytest.mark.parametrize("path", SERVABLE, ids=[_name(p) for p in SERVABLE])
def test_alpha2_capabilities_build_their_servers(path: Path) -> None:
    doc = load_file(path).require()
    try:
        cap = capability(doc.file, doc, _AnyEnvironment())
    except BindingError as exc:
        assert "does not exist" in str(exc)  # a bind file the corpus does not ship
        return
    runtime = build_runtime(cap)

    def build() -> list[str]:
        built = []
        for adapter in cap.exposes:
            kind = adapter_kind(adapter)
            if kind is None or kind.wants_stdio(adapter):
                continue
            build_app(adapter, runtime, host="127.0.0.1", port=1)
            built.append(adapter.type)
        return built

    expected = NOT_SERVED.get(_name(path))
    if expected is not None:
        with pytest.raises(expected[0], match=expected[1]):
            build()
    else:
        build()
