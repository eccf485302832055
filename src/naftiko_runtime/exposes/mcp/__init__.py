"""The MCP adapter (``type: mcp``), served with the official ``mcp`` SDK over Streamable HTTP or stdio.

Modules: ``exposer`` (an adapter compiled: what each MCP method answers, in wire form), ``tools``,
``resources``, ``prompts``, ``schema`` and ``inputs`` (tool descriptors, JSON Schemas, compiled
validators), ``fast`` and ``envelope`` (the HTTP fast path and its checks), ``wire`` (JSON-RPC codes),
``server`` (the SDK's server over the compiled adapter), ``transport`` (HTTP at ``/mcp`` and stdio),
``checks`` (load-time). None of them but ``server`` imports the SDK, which is loaded only when a request
or stdio needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp

from ...engine import Runtime
from ...spec import model as m
from ..adapter import AdapterKind
from .checks import check_mcp


def _build(
    adapter: m.ExposesMcp, runtime: Runtime, *, host: str, port: int, allow_hosts: Sequence[str] = ()
) -> ASGIApp:
    from .transport import build

    return build(adapter, runtime, host=host, port=port, allow_hosts=allow_hosts)


async def _stdio(adapter: m.ExposesMcp, runtime: Runtime) -> None:
    from .transport import run_stdio

    await run_stdio(adapter, runtime)


MCP = AdapterKind("mcp", m.ExposesMcp, _build, path="/mcp", stdio=_stdio, check=check_mcp)

__all__ = ["MCP", "check_mcp"]
