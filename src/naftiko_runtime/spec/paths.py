"""Rewrite the ``path`` of every model object, e.g. to the paths of the document as written in its dialect."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .findings import Path

T = TypeVar("T")


def rewrite_paths(obj: T, to_source: Callable[[Path], Path], *, file: str | None = None) -> T:
    """A copy of ``obj`` whose ``path`` fields are mapped by ``to_source``.

    Objects read from another file (a consumer imported with its own ``source``) keep the paths inside
    them; only where they are imported (their own ``path``) is mapped.
    """
    return _walk(obj, to_source, file)  # type: ignore[no-any-return]


def _walk(obj: Any, to_source: Callable[[Path], Path], file: str | None) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        source = getattr(obj, "source", None)
        if file is not None and isinstance(source, str) and source != file:
            return dataclasses.replace(obj, path=to_source(getattr(obj, "path", ())))
        file = getattr(obj, "file", file)
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            value = getattr(obj, f.name)
            new = (
                to_source(value)
                if f.name == "path" and isinstance(value, tuple)
                else _walk(value, to_source, file)
            )
            if new is not value:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    if isinstance(obj, tuple):
        items = tuple(_walk(v, to_source, file) for v in obj)
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    if isinstance(obj, Mapping) and obj and any(dataclasses.is_dataclass(v) for v in obj.values()):
        return {k: _walk(v, to_source, file) for k, v in obj.items()}
    return obj
