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

        return build_rest_app
    if isinstance(adapter, m.ExposesMcp):
        from .mcp import build_mcp_app

        return build_mcp_app
    return None


__all__ = ["AppBuilder", "Runtime", "app_builder"]
