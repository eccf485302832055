"""What the process serves and how it is doing, for the control adapter's health, status and reload routes.

The server fills it in (:mod:`naftiko_runtime.server`): the adapters and their URLs, readiness (every
adapter listening and every upstream pool open), the last reload and its findings, and the function that
reloads. The control adapter only reads it, and calls the reloader it was given: it never imports the
server. One per process (:data:`STATUS`); each worker process has its own copy.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class AdapterState:
    type: str
    namespace: str
    url: str
    file: str
    state: str = "starting"  # starting, started, stopped

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "namespace": self.namespace,
            "url": self.url,
            "file": self.file,
            "state": self.state,
        }


@dataclass(slots=True)
class ReloadResult:
    """One reload: when, whether the new files are serving, and the findings that refused them."""

    at: str
    ok: bool
    detail: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at, "result": "ok" if self.ok else "refused", "detail": self.detail} | (
            {"findings": self.findings} if self.findings else {}
        )


Reloader = Callable[[], Awaitable[ReloadResult]]


@dataclass(slots=True)
class ProcessStatus:
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=lambda: now())
    capabilities: list[dict[str, Any]] = field(default_factory=list)
    adapters: list[AdapterState] = field(default_factory=list)
    ready: bool = False
    last_reload: ReloadResult | None = None
    reloader: Reloader | None = None
    #: what the control adapter serves at /metrics and /traces (set when configured)
    metrics: Any = None
    traces: Any = None

    def uptime(self) -> float:
        return time.monotonic() - self.started


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def iso_duration(seconds: float) -> str:
    """ISO 8601: ``PT1H2M3.5S``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    return out + f"{secs:.1f}S"


STATUS = ProcessStatus()


def reset() -> ProcessStatus:
    """A fresh status for a new serve (tests serve several times in one process)."""
    global STATUS
    STATUS = ProcessStatus()
    return STATUS


def current() -> ProcessStatus:
    return STATUS


__all__ = [
    "AdapterState",
    "ProcessStatus",
    "ReloadResult",
    "Reloader",
    "current",
    "iso_duration",
    "now",
    "reset",
]
