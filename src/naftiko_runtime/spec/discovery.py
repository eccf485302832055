"""Which files a list of paths names: each file as given, and the capability files of each folder.

``naftiko serve`` and ``naftiko validate`` take the same paths, so both find files here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import ServeError

_TOP_KEY = re.compile(r"^[\"']?(naftiko|ikanos|capability)[\"']?[ \t]*:", re.MULTILINE)


def _is_capability_file(path: Path) -> bool:
    """A spec document (either dialect) with a ``capability``; shared files and other YAML are not served."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # let the loader report it
    keys = {match.group(1) for match in _TOP_KEY.finditer(text)}
    return keys in ({"naftiko", "capability"}, {"ikanos", "capability"})


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """The files to serve: each file as given, and the capability files of each folder."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [
                p
                for p in sorted(path.iterdir())
                if p.suffix in (".yaml", ".yml") and p.is_file() and _is_capability_file(p)
            ]
            if not found:
                raise ServeError(f"{path}: no capability files (*.yaml or *.yml with a 'capability') here")
            files.extend(found)
        else:
            files.append(path)
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


__all__ = ["discover"]
