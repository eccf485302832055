"""The access-log middleware: one ``naftiko.access`` line per HTTP request, and the observer's request events.

The line has the adapter, method, raw path (never the query string), status, the last upstream status and
the duration. The middleware opens the request's context (:mod:`.context`) so the consumers can note the
upstream status in it. It is only worth installing when the access log is enabled or an observer is
installed (:func:`wanted`); otherwise an adapter's app is served bare.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from . import hooks
from .context import close_request, open_request

access_log = logging.getLogger("naftiko.access")


def wanted() -> bool:
    return access_log.isEnabledFor(logging.INFO) or hooks.observer is not None


class AccessLog:
    """ASGI middleware around one adapter's app; ``adapter`` names it in the lines and events."""

    def __init__(self, app: Any, adapter: str) -> None:
        self.app = app
        self.adapter = adapter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope.get("path", "")
        method = scope.get("method", "")
        context, token = open_request(self.adapter)
        event = hooks.request_started(self.adapter, method, path)
        status = 500
        error: BaseException | None = None
        started = time.perf_counter()

        async def send_and_note(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except BaseException as exc:
            error = exc
            raise
        finally:
            close_request(token)
            if event is not None:
                hooks.request_ended(event, status, error)
            if access_log.isEnabledFor(logging.INFO):
                upstream = context.upstream_status
                access_log.info(
                    "adapter=%s method=%s path=%s status=%d upstream_status=%s duration_ms=%.1f",
                    self.adapter,
                    method,
                    path,
                    status,
                    "-" if upstream is None else upstream,
                    (time.perf_counter() - started) * 1000,
                )


__all__ = ["AccessLog", "access_log", "wanted"]
