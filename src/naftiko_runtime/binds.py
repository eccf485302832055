"""Resolve a document's ``binds`` into secret values that templates can use.

A bind without ``location`` reads environment variables; a ``file://`` location reads a YAML, JSON or
dotenv file (relative paths are resolved against the capability file's folder). Each entry
``VARIABLE: provider-key`` makes ``{{VARIABLE}}`` and ``{{<bind namespace>.VARIABLE}}`` available.
Values are :class:`Secret`: masked in ``repr``, and :class:`Redactor` scrubs them from any text that
leaves the process (errors, logs, upstream excerpts).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import yaml

from .errors import BindingError
from .expressions import SEGMENT_SAFE
from .spec.findings import format_path
from .spec.model import Binding, NaftikoDocument


class Secret(str):
    """A bound value. It renders into templates like any string, but its repr never shows it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True, slots=True)
class Bindings:
    """Resolved binds: ``flat`` is VARIABLE → value; ``namespaced`` is namespace → {VARIABLE: value}.

    ``environ`` is the environment they were resolved against, which ``in: environment`` parameters read.
    """

    flat: Mapping[str, Secret] = field(default_factory=dict)
    namespaced: Mapping[str, Mapping[str, Secret]] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)

    @property
    def scopes(self) -> tuple[Mapping[str, Any], ...]:
        return (self.flat, self.namespaced)

    def values(self) -> Iterable[str]:
        return self.flat.values()

    def __repr__(self) -> str:
        return f"Bindings(keys={sorted(self.flat)})"


def wire_forms(value: str) -> set[str]:
    """Every form a value can take on the wire: as it is, percent-encoded as a query or form value and
    as a path segment, inside a JSON string (either escaping), and base64-encoded (as in basic auth)."""
    forms = {
        value,
        quote(value, safe=""),
        quote(value, safe=SEGMENT_SAFE),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        base64.b64encode(value.encode()).decode("ascii"),
        base64.urlsafe_b64encode(value.encode()).decode("ascii"),
    }
    # base64 may end in padding that the surrounding text does not keep
    forms.update({f.rstrip("=") for f in forms if f.endswith("=") and len(f.rstrip("=")) >= 4})
    return forms


class Redactor:
    """Replaces every bound value, in every form it takes on the wire (:func:`wire_forms`), with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._needles: tuple[str, ...] = ()
        #: the forms' UTF-8 bytes read as Latin-1 (a body is searched as Latin-1 text: the same bytes
        #: match, and ``str`` search is about twice as fast as ``bytes``), without those holding another
        self._probes: tuple[str, ...] = ()
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        known = set(self._needles)
        for s in secrets:
            # very short values would redact ordinary words; a secret shorter than 4 chars is no secret
            if len(s) >= 4:
                known.update(wire_forms(str(s)))
        # longest first, so a secret that contains another is replaced whole
        ordered = sorted(known, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(k) for k in ordered)) if ordered else None
        # plain substring tests come first: far cheaper than the regex on text that holds no secret
        self._needles = tuple(ordered)
        forms = [k.encode("utf-8").decode("latin-1") for k in ordered]
        self._probes = tuple(f for f in forms if not any(o != f and o in f for o in forms))

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text or not any(n in text for n in self._needles):
            return text
        return self._pattern.sub("***", text)

    def bytes(self, body: bytes) -> bytes:
        """The same for a UTF-8 body; a body holding no secret is returned as is, without decoding."""
        text = body.decode("latin-1")  # never fails, and costs a copy
        for probe in self._probes:  # a loop of substring tests: quicker than a regex or any()
            if probe in text:
                return self(body.decode("utf-8", "replace")).encode("utf-8")
        return body


def resolve_binds(
    document: NaftikoDocument, environ: Mapping[str, str], *, base_dir: Path | None = None
) -> Bindings:
    """Resolve every bind of the document (root and capability level) against ``environ`` (the caller's
    choice: the CLI passes the process environment); later binds win for a flat name."""
    base = base_dir if base_dir is not None else Path(document.file).resolve().parent
    flat: dict[str, Secret] = {}
    namespaced: dict[str, dict[str, Secret]] = {}
    for bind in document.all_binds:
        values = _resolve_one(bind, environ, base)
        flat.update(values)
        namespaced.setdefault(bind.namespace, {}).update(values)
    return Bindings(flat=flat, namespaced=namespaced, environ=environ)


def _resolve_one(bind: Binding, env: Mapping[str, str], base: Path) -> dict[str, Secret]:
    where = f"bind '{bind.namespace}' ({format_path(bind.path)})"
    if bind.location is None:
        out: dict[str, Secret] = {}
        missing = [provider for provider in bind.keys.values() if provider not in env]
        if missing:
            names = sorted(set(missing))
            if len(names) == 1:
                raise BindingError(f"{where}: environment variable {names[0]} is not set")
            raise BindingError(f"{where}: environment variables {', '.join(names)} are not set")
        for var, provider in bind.keys.items():
            out[var] = Secret(env[provider])
        return out
    scheme, sep, _ = bind.location.partition("://")
    if not sep:
        raise BindingError(f"{where}: location {bind.location!r} is not a URI")
    if scheme.lower() != "file":
        raise BindingError(
            f"{where}: unsupported location scheme '{scheme}://' (this runtime reads environment variables "
            "and file:// locations)"
        )
    path = _file_path(bind.location, base)
    data = _read_values(path, where)
    out = {}
    for var, provider in bind.keys.items():
        if provider not in data or data[provider] is None:
            raise BindingError(f"{where}: key '{provider}' (for {var}) is not in {path.name}")
        value = data[provider]
        out[var] = Secret(value if isinstance(value, str) else json.dumps(value))
    return out


def _file_path(location: str, base: Path) -> Path:
    rest = location[len("file://") :]
    if rest.startswith("/./") or rest.startswith("/../"):
        rest = rest[1:]
    path = Path(rest)
    return path if path.is_absolute() else (base / path)


def _read_values(path: Path, where: str) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BindingError(f"{where}: file {path} does not exist") from None
    except OSError as exc:
        raise BindingError(f"{where}: cannot read {path}: {exc.strerror}") from None
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".env" or path.name.startswith(".env"):
            data = parse_dotenv(text)
        else:
            data = _guess(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        # the parser's message can quote file content, which may be secret: name the file and the line only
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if isinstance(line, int) else getattr(exc, "lineno", "?")
        raise BindingError(f"{where}: {path.name} is not valid YAML/JSON (near line {line})") from None
    if not isinstance(data, Mapping):
        raise BindingError(f"{where}: {path.name} must hold a mapping of keys to values")
    return data


def _guess(text: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return json.loads(text)
    if re.match(r"^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=", stripped):
        return parse_dotenv(text)
    return yaml.safe_load(text)


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")


def parse_dotenv(text: str) -> dict[str, str]:
    """Read ``KEY=value`` lines; quotes are stripped, ``#`` starts a comment outside quotes."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
            if match.group(2)[0] == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = value.split(" #", 1)[0].strip()
        out[key] = value
    return out
