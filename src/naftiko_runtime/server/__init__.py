"""``naftiko serve``: from capability files to running servers.

plan.prepare   load, resolve binds, plan, build every app, then bind the sockets (nothing listens on error)
assemble       the composition root: capability → runtime → an adapter's app (+ inbound auth, access log)
run            one uvicorn server per socket on one uvloop event loop; signals; the stdio session
workers        ``--workers N``: forked processes serving the sockets the parent bound
"""

from __future__ import annotations

from .plan import BoundAdapter, Plan, prepare
from .run import serve

__all__ = ["BoundAdapter", "Plan", "prepare", "serve"]
