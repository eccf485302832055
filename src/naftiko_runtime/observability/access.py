"""The access-log middleware: one ``naftiko.access`` line per HTTP request, and the observer's request events.

The line names the adapter, the operation or tool that served the request (a route template or a tool
name), the method, the raw path (never the query string), the status, the last upstream call (its
``namespace.operation``, status and duration), the request's duration and its trace id when traced. The
middleware opens the request's context (:mod:`.context`) where the exposers and consumers note those. It
is only worth installing when the access log is enabled or an observer is installed (:func:`wanted`);
otherwise an adapter's app is served bare.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from . import hooks
from .context import close_request, current_request, open_request

access_log = logging.getLogger("naftiko.access")


def wanted() -> bool:
    return access_log.isEnabledFor(logging.INFO) or hooks.observer is not None


def _text(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value)
    return f'"{text}"' if " " in text or '"' in text else text


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
        path = (raw.decode("latin-1") if raw else scope.get("path", "")).partition("?")[0]
        method = scope.get("method", "")
        context = current_request()  # the server's guard may have opened it
        token = None
        if context is None:
            context, token = open_request(self.adapter)
        event = hooks.request_started(self.adapter, method, path, scope.get("headers", ()))
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
            if token is not None:
                close_request(token)
            if event is not None:
                hooks.request_ended(event, status, error, context.operation)
            if access_log.isEnabledFor(logging.INFO):
                upstream_ms = context.upstream_duration
                fields = {
                    "adapter": self.adapter,
                    "operation": context.operation,
                    "method": method,
                    "path": path,
                    "status": status,
                    "upstream": context.upstream,
                    "upstream_status": context.upstream_status,
                    "upstream_ms": None if upstream_ms is None else round(upstream_ms * 1000, 1),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "trace_id": context.trace_id,
                }
                access_log.info(
                    " ".join(f"{k}={_text(v)}" for k, v in fields.items()), extra={"fields": fields}
                )


__all__ = ["AccessLog", "access_log", "wanted"]
