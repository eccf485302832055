"""Exposers: one ASGI app per ``exposes`` adapter, chosen by the adapter's ``type``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import Runtime
from ..spec import model as m

#: ``build(adapter, runtime, host=..., port=...) -> ASGI app`` for each servable adapter type.
AppBuilder = Callable[..., Any]


def app_builder(adapter: m.Exposes) -> AppBuilder | None:
    if isinstance(adapter, m.ExposesRest):
        from .rest import build_rest_app

        builder: AppBuilder = build_rest_app
        return builder
    if isinstance(adapter, m.ExposesMcp):
        from .mcp import build_mcp_app

        builder = build_mcp_app
        return builder
    return None


__all__ = ["AppBuilder", "Runtime", "app_builder"]
