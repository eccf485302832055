"""``naftiko serve``: from capability files to running servers.

plan.prepare   load, resolve binds, plan, build every app, then bind the sockets (nothing listens on error)
assemble       the composition root: capability → runtime → an adapter's app (+ inbound auth, access log)
run            one uvicorn server per socket on one uvloop event loop; signals; the stdio session
guard          in front of every HTTP adapter: in-flight cap, Host/Origin, bodies, idempotency keys, shutdown
protocol       httptools with limits on the request head (size, lines, time to send it)
workers        ``--workers N``: forked processes serving the sockets the parent bound
"""

from __future__ import annotations

from .plan import BoundAdapter, Plan, prepare
from .run import serve

__all__ = ["BoundAdapter", "Plan", "prepare", "serve"]
