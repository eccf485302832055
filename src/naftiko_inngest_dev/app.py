"""The Starlette app: Inngest's Event API, REST v1 and v2 (``/v2`` and ``/api/v2``), and ``/_stub`` control.

Only routes that exist on Inngest are served; anything else is ``404 page not found`` (Go's text), a known
path with the wrong method is 405, and trailing slashes are not redirected.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import AuthResult, KeyRing, event_key_ok
from .config import AppSpec, ConfigError, DevConfig, FaultSpec, FunctionSpec
from .faults import FaultEngine, Journal, StubLayer
from .ids import is_ulid
from .state import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    CancelOutcome,
    Clock,
    EventError,
    Run,
    RunView,
    Store,
    error_output,
    normalize_event,
    view,
)
from .wire import (
    app_uuid,
    function_uuid,
    iso,
    parse_iso,
    v1_cancellation,
    v1_event,
    v1_function,
    v1_run,
    v2_app,
    v2_function,
    v2_run,
    v2_trace,
)

log = logging.getLogger("naftiko_inngest_dev")

Endpoint = Callable[[Request], Awaitable[Response]]

V2_MAX_BODY = 3 * 1024 * 1024
V2_MAX_EVENT_NAME = 512
_RUN_STATUSES = {QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, "PAUSED", "SKIPPED"}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class BadParam(ValueError):
    """A v2 request parameter is invalid; the message is Inngest's."""

    def __init__(self, message: str, code: str = "invalid_field_format") -> None:
        super().__init__(message)
        self.code = code


class DevServer:
    """One stand-in instance: configuration, clock, store, fault rules and journal."""

    def __init__(self, config: DevConfig) -> None:
        self.config = config
        self.clock = Clock(config.time_scale)
        self.store = Store(config, self.clock)
        self.keys = KeyRing(config.signing_keys, config.api_keys)
        self.faults = FaultEngine(config.faults, config.fault_seed)
        self.journal = Journal()
        self.synced_ms = self.clock.now_ms()

    def now(self) -> int:
        return self.clock.now_ms()

    def reset(self) -> None:
        """Forget events, runs and requests; restore configured faults; restart the clock."""
        self.store.reset()
        self.journal.clear()
        self.faults.reset()
        self.clock.reset()

    # -- responses ----------------------------------------------------------------------------------------

    def _v1_ok(self, data: Any, cache_s: int = 0) -> Response:
        now = self.now()
        metadata = {"fetched_at": iso(now)}
        headers = {}
        if cache_s:
            metadata["cached_until"] = iso(now + cache_s * 1000)
            headers["Cache-Control"] = f"private, max-age={cache_s}"
        return JSONResponse({"data": data, "metadata": metadata}, headers=headers)

    @staticmethod
    def _v1_error(status: int, message: str) -> Response:
        return JSONResponse({"error": message, "data": None, "status": status}, status_code=status)

    def _v2_ok(
        self, data: Any, *, page: Mapping[str, Any] | None = None, status: int = 200, **meta: Any
    ) -> Response:
        body: dict[str, Any] = {"data": data, "metadata": {"fetchedAt": iso(self.now()), **meta}}
        if page is not None:
            body["page"] = dict(page)
        return JSONResponse(body, status_code=status)

    @staticmethod
    def _v2_error(status: int, code: str, message: str) -> Response:
        return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=status)

    # -- auth wrappers ------------------------------------------------------------------------------------

    def _v1(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            if not self.keys.check_v1(request.headers.get("authorization")):
                return PlainTextResponse("Authentication failed\n", status_code=401)
            return await endpoint(request)

        return guarded

    def _v2(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            result = self.keys.check_v2(request.headers.get("authorization"))
            if result is AuthResult.MISSING:
                return self._v2_error(401, result.value, "authorization header missing or invalid")
            if result is AuthResult.INVALID_SIGNING_KEY:
                return self._v2_error(401, result.value, "Invalid signing key")
            if result is AuthResult.INVALID_API_KEY:
                return self._v2_error(401, result.value, "Invalid API key")
            try:
                return await endpoint(request)
            except BadParam as exc:
                return self._v2_error(400, exc.code, str(exc))

        return guarded

    # -- Event API ----------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": 200, "message": "OK"})

    async def missing_event_key(self, request: Request) -> Response:
        return JSONResponse({"status": 401, "message": "", "error": "Event key is required"}, status_code=401)

    async def send_events(self, request: Request) -> Response:
        key = request.path_params["key"]
        if not self.config.dev_mode and not event_key_ok(key, self.config.event_keys):
            status = self.config.unknown_event_key_status
            return JSONResponse(
                {"status": status, "message": "", "error": "Event key not found"}, status_code=status
            )
        body = await request.body()
        limit = self.config.max_body_bytes
        if len(body) > limit:
            error = f"Request body too large: the limit is {limit} bytes"
            return JSONResponse({"ids": [], "status": 413, "error": error}, status_code=413)

        def bad(message: str, ids: list[str] | None = None) -> Response:
            return JSONResponse({"ids": ids or [""], "status": 400, "error": message}, status_code=400)

        text = body.strip()
        if not text.startswith((b"{", b"[")):
            return bad("Request body must contain an event object or an array of event objects")
        try:
            payload = json.loads(text)
        except ValueError as exc:
            return bad(f"invalid JSON: {exc}")
        events = payload if isinstance(payload, list) else [payload]
        if len(events) > self.config.max_events_per_request:
            return bad(f"Too many events: at most {self.config.max_events_per_request} events per request")
        ids = self.store.event_ids(len(events), request.headers.get("x-inngest-event-id-seed"))
        now = self.now()
        for index, raw in enumerate(events):
            try:
                normalized = normalize_event(raw, now)
            except EventError as exc:
                return bad(str(exc), ids[:index])
            self.store.store_event(ids[index], normalized)
        return JSONResponse({"ids": ids, "status": 200})

    # -- v1 -------------------------------------------------------------------------------------------------

    async def v1_list_events(self, request: Request) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit") or 20)
        except ValueError:
            return self._v1_error(400, "Invalid limit query parameter")
        limit = max(1, min(limit, 100))
        now = self.now()
        after = parse_iso(q["received_after"]) if q.get("received_after") else now - 3600 * 1000
        before = parse_iso(q["received_before"]) if q.get("received_before") else None
        if after is None:
            return self._v1_error(400, "Invalid received_after query parameter")
        if q.get("received_before") and before is None:
            return self._v1_error(400, "Invalid received_before query parameter")
        events = self.store.list_events()
        cursor = q.get("cursor")
        if cursor:
            if not is_ulid(cursor):
                return self._v1_error(400, "Invalid cursor query parameter")
            positions = [i for i, e in enumerate(events) if e.internal_id == cursor.upper()]
            if positions:
                events = events[positions[0] + 1 :]
            else:
                events = [e for e in events if e.internal_id < cursor.upper()]
        name = q.get("name")
        selected = [
            e
            for e in events
            if (not name or e.name == name)
            and e.received_ms >= after
            and (before is None or e.received_ms <= before)
        ]
        return self._v1_ok([v1_event(e) for e in selected[:limit]])

    async def v1_get_event(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        if not is_ulid(event_id):
            return self._v1_error(400, f"Invalid event ID: {event_id}")
        evt = self.store.events.get(event_id.upper())
        if evt is None:
            return self._v1_error(404, "Event not found")
        return self._v1_ok(v1_event(evt), cache_s=5)

    async def v1_event_runs(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        if not is_ulid(event_id):
            return self._v1_error(400, f"Invalid event ID: {event_id}")
        now = self.now()
        runs = [
            v1_run(view(r, now), self.config.v1_queued_status) for r in self.store.runs_for_event(event_id)
        ]
        return self._v1_ok(runs, cache_s=15)

    def _v1_run_or_error(self, run_id: str, missing_status: int) -> Run | Response:
        if not is_ulid(run_id):
            return self._v1_error(400, f"Invalid run ID: {run_id}")
        run = self.store.get_run(run_id)
        if run is None:
            return self._v1_error(missing_status, f"Unable to load function run: {run_id}")
        return run

    async def v1_get_run(self, request: Request) -> Response:
        found = self._v1_run_or_error(request.path_params["run_id"], self.config.v1_unknown_run_status)
        if isinstance(found, Response):
            return found
        return self._v1_ok(v1_run(view(found, self.now()), self.config.v1_queued_status), cache_s=3)

    async def v1_cancel_run(self, request: Request) -> Response:
        found = self._v1_run_or_error(request.path_params["run_id"], 404)
        if isinstance(found, Response):
            return found
        self.store.cancel(found.id)  # an ended run is a silent success, as in OSS
        return Response(status_code=200)

    async def v1_run_jobs(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if not is_ulid(run_id):
            return self._v1_error(400, f"Invalid run ID: {run_id}")
        return self._v1_ok([], cache_s=5)

    async def v1_app_functions(self, request: Request) -> Response:
        name = request.path_params["app_name"]
        for app in self.config.apps:
            if app.id == name:
                return JSONResponse([v1_function(app, fn, self.synced_ms) for fn in app.functions])
        return JSONResponse([])

    async def v1_create_cancellation(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body() or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, Mapping):
            return self._v1_error(400, "Invalid cancellation request")
        times: dict[str, int | None] = {}
        for name in ("started_before", "started_after"):
            raw = payload.get(name)
            times[name] = parse_iso(raw) if isinstance(raw, str) else None
            if raw is not None and times[name] is None:  # Go's time.Time only decodes RFC 3339 strings
                return self._v1_error(400, "Invalid cancellation request")
        condition = payload.get("if")
        if condition is not None and not isinstance(condition, str):
            return self._v1_error(400, "Invalid cancellation request")
        app_id, fn_id = payload.get("app_id") or "", payload.get("function_id") or ""
        before, after = times["started_before"], times["started_after"]
        problems = []
        if not app_id:
            problems.append("app_id is required")
        if not fn_id:
            problems.append("function_id is required")
        if before is None:
            problems.append("started_before is required")
        elif before > self.now():
            problems.append("started_before must be in the past")
        if after is not None and before is not None and after > before:
            problems.append("started_after must be before started_before")
        if problems:
            return self._v1_error(400, "\n".join(problems))
        assert before is not None
        found = self._find_by_sdk_id(str(app_id), str(fn_id))
        if found is None:
            return self._v1_error(404, "function not found")
        cancellation = self.store.cancel_window(*found, before, after, condition or None)
        return self._v1_ok(v1_cancellation(cancellation))

    def _find_by_sdk_id(self, app_id: str, fn_id: str) -> tuple[AppSpec, FunctionSpec] | None:
        """A function by its SDK id, or by its slug ``<app>-<function>``."""
        found = self.config.find_function(app_id, fn_id)
        if found is None and fn_id.startswith(app_id + "-"):
            found = self.config.find_function(app_id, fn_id[len(app_id) + 1 :])
        return found

    async def v1_list_cancellations(self, request: Request) -> Response:
        items = sorted(self.store.cancellations.values(), key=lambda c: c.id)
        return self._v1_ok([v1_cancellation(c) for c in items])

    async def v1_delete_cancellation(self, request: Request) -> Response:
        cancellation_id = request.path_params["cancellation_id"]
        if not is_ulid(cancellation_id):
            return self._v1_error(400, "Invalid cancellation ID")
        if self.store.cancellations.pop(cancellation_id.upper(), None) is None:
            return self._v1_error(404, "Cancellation not found")
        return self._v1_ok({"ok": True})

    # -- v2: runs -----------------------------------------------------------------------------------------

    async def v2_health(self, request: Request) -> Response:
        return self._v2_ok({"status": "ok"})

    def _v2_run_id(self, request: Request) -> str:
        run_id: str = request.path_params["run_id"]
        if not is_ulid(run_id):
            raise BadParam("Run ID must be a valid ULID")
        return run_id

    async def v2_get_run(self, request: Request) -> Response:
        run = self.store.get_run(self._v2_run_id(request))
        include = _bool_param(request, "includeOutput")
        if run is None:
            return self._v2_error(404, "not_found", "Run not found")
        return self._v2_ok(v2_run(view(run, self.now()), include_output=include, list_item=False))

    async def v2_get_trace(self, request: Request) -> Response:
        run = self.store.get_run(self._v2_run_id(request))
        include = _bool_param(request, "includeOutput")
        if run is None:
            return self._v2_error(404, "not_found", "Trace not found")
        return self._v2_ok(v2_trace(view(run, self.now()), include_output=include))

    async def v2_cancel_run(self, request: Request) -> Response:
        run_id = self._v2_run_id(request)
        outcome = self.store.cancel(run_id)
        if outcome is CancelOutcome.NOT_FOUND:
            return self._v2_error(404, "not_found", "Run not found")
        if outcome is CancelOutcome.ALREADY_CANCELLED:
            return self._v2_error(409, "run_already_cancelled", "Run is already cancelled")
        if outcome is CancelOutcome.ENDED:
            return self._v2_error(409, "run_already_ended", "Cannot cancel an ended run")
        return self._v2_ok({"runId": run_id.upper()})

    async def v2_rerun(self, request: Request) -> Response:
        run_id = self._v2_run_id(request)
        body = await _json_object(request)
        run = self.store.get_run(run_id)
        from_step = body.get("fromStep")
        start = 0
        if from_step is not None:
            if not isinstance(from_step, Mapping) or not from_step.get("stepId"):
                raise BadParam("Step ID is required", "missing_field")
            if run is not None:
                # only a step the original run reached can be rerun from (its predecessors are memoized)
                reached = {sv.step.id: sv.index for sv in view(run, self.now()).steps}
                if from_step["stepId"] not in reached:
                    raise BadParam("Step not found in original run", "invalid_request")
                start = reached[from_step["stepId"]]
        if run is None:
            return self._v2_error(404, "not_found", "Run not found")
        new_run = self.store.rerun(run.id, start)
        assert new_run is not None
        return self._v2_ok({"runId": new_run.id})

    async def v2_list_runs(self, request: Request) -> Response:
        q = request.query_params
        app_ids = _multi(request, "appId")
        function_ids = _multi(request, "functionId")
        if function_ids and not app_ids:
            raise BadParam("appId is required when filtering by functionId")
        return self._list_runs(request, app_ids, function_ids, q)

    async def v2_function_runs(self, request: Request) -> Response:
        app_id, fn_id = request.path_params["app_id"], request.path_params["fn_id"]
        return self._list_runs(request, [app_id], [fn_id], request.query_params)

    def _list_runs(
        self, request: Request, app_ids: list[str], function_ids: list[str], q: Mapping[str, str]
    ) -> Response:
        limit = _limit_param(request, 20, 100)
        cursor = _decode_cursor(q.get("cursor"))
        from_ms = _time_param(q, "from")
        until_ms = _time_param(q, "until")
        if from_ms is not None and until_ms is not None and from_ms >= until_ms:
            raise BadParam("from must be before until")
        statuses = {s.strip().upper() for s in _multi(request, "status")}
        if not statuses <= _RUN_STATUSES:
            raise BadParam("Status is invalid")
        time_field = (q.get("timeField") or "").strip().upper().replace("_", "")
        if time_field not in ("", "QUEUEDAT", "STARTEDAT", "ENDEDAT"):
            raise BadParam("timeField is invalid")
        order = (q.get("order") or "").strip().upper()
        if order not in ("", "ASC", "DESC"):
            raise BadParam("order is invalid")
        include = _bool_param(request, "includeOutput")
        now = self.now()
        rows: list[tuple[tuple[int, int], RunView]] = []
        for run in self.store.visible_runs(now):
            if app_ids and run.app.id not in app_ids:
                continue
            if function_ids and not (
                {run.function.id, f"{run.app.id}-{run.function.id}"} & set(function_ids)
            ):
                continue
            rv = view(run, now)
            if statuses and rv.status not in statuses:
                continue
            t = {"STARTEDAT": rv.started_ms, "ENDEDAT": rv.ended_ms}.get(time_field, run.queued_ms)
            if t is None and (time_field or from_ms is not None or until_ms is not None):
                continue
            t = run.queued_ms if t is None else t
            if (from_ms is not None and t < from_ms) or (until_ms is not None and t >= until_ms):
                continue
            rows.append(((t, run.seq), rv))
        meta = {}
        if from_ms is not None and until_ms is not None:
            meta["timeRange"] = {"from": iso(from_ms), "until": iso(until_ms)}
        return self._paged_runs(rows, limit, cursor, descending=order != "ASC", include=include, meta=meta)

    def _paged_runs(
        self,
        rows: list[tuple[tuple[int, int], RunView]],
        limit: int,
        cursor: tuple[int, int] | None,
        *,
        descending: bool,
        include: bool,
        meta: Mapping[str, Any] | None = None,
    ) -> Response:
        rows.sort(key=lambda row: row[0], reverse=descending)
        if cursor is not None:
            rows = [row for row in rows if (row[0] < cursor if descending else row[0] > cursor)]
        page_rows, has_more = rows[:limit], len(rows) > limit
        data = [v2_run(rv, include_output=include, list_item=True) for _, rv in page_rows]
        page: dict[str, Any] = {"limit": limit}
        if has_more:
            page = {"cursor": _encode_cursor(page_rows[-1][0]), "hasMore": True, "limit": limit}
        return self._v2_ok(data, page=page, **(meta or {}))

    async def v2_event_runs(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        if not is_ulid(event_id):
            raise BadParam("Event ID must be a valid ULID")
        limit = _limit_param(request, 20, 40)
        cursor = _decode_cursor(request.query_params.get("cursor"))
        include = _bool_param(request, "includeOutput")
        now = self.now()
        rows = [((r.queued_ms, r.seq), view(r, now)) for r in self.store.runs_for_event(event_id)]
        return self._paged_runs(rows, limit, cursor, descending=False, include=include)

    # -- v2: events, apps, functions ----------------------------------------------------------------------

    async def v2_send_event(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > V2_MAX_BODY:
            return self._v2_error(413, "invalid_request", f"Request body cannot exceed {V2_MAX_BODY} bytes")
        payload = await _json_object(request)
        name = payload.get("name")
        if not isinstance(name, str) or not name:
            raise BadParam("Event name is required", "missing_field")
        if len(name) > V2_MAX_EVENT_NAME:
            raise BadParam(f"Event name cannot exceed {V2_MAX_EVENT_NAME} characters")
        if name.lower().startswith("inngest/"):
            raise BadParam(f"Event name is reserved for internal use: {name}")
        try:
            normalized = normalize_event(payload, self.now())
        except EventError as exc:
            raise BadParam(str(exc), "validation_error") from None
        internal_id = self.store.event_ids(1, None)[0]
        self.store.store_event(internal_id, normalized)
        return self._v2_ok({"eventId": internal_id})

    async def v2_list_apps(self, request: Request) -> Response:
        limit = _limit_param(request, 20, 100)
        apps = list(self.config.apps)
        cursor = request.query_params.get("cursor")
        if cursor:
            ids = [app_uuid(a) for a in apps]
            if cursor not in ids:
                raise BadParam("Cursor is invalid")
            apps = apps[ids.index(cursor) + 1 :]
        page_apps, has_more = apps[:limit], len(apps) > limit
        page: dict[str, Any] = {"limit": limit}
        if has_more:
            page = {"cursor": app_uuid(page_apps[-1]), "hasMore": True, "limit": limit}
        return self._v2_ok([v2_app(a, self.synced_ms) for a in page_apps], page=page)

    async def v2_get_app(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        for app in self.config.apps:
            if app.id == app_id:
                return self._v2_ok(v2_app(app, self.synced_ms))
        return self._v2_error(404, "not_found", "App not found")

    async def v2_app_functions(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        limit = _limit_param(request, 20, 100)
        app = next((a for a in self.config.apps if a.id == app_id), None)
        if app is None:
            return self._v2_error(404, "not_found", "App not found")
        functions = list(app.functions)
        cursor = request.query_params.get("cursor")
        if cursor:
            ids = [function_uuid(app, f) for f in functions]
            if cursor not in ids:
                raise BadParam("Cursor is invalid")
            functions = functions[ids.index(cursor) + 1 :]
        page_fns, has_more = functions[:limit], len(functions) > limit
        page: dict[str, Any] = {"limit": limit}
        if has_more:
            page = {"cursor": function_uuid(app, page_fns[-1]), "hasMore": True, "limit": limit}
        return self._v2_ok([v2_function(app, f) for f in page_fns], page=page)

    async def v2_get_function(self, request: Request) -> Response:
        found = self.config.find_function(request.path_params["app_id"], request.path_params["fn_id"])
        if found is None:
            return self._v2_error(404, "not_found", "Function not found")
        return self._v2_ok(v2_function(*found))

    async def v2_invoke(self, request: Request) -> Response:
        payload = await _json_object(request)
        data = payload.get("data")
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise BadParam("data must be an object")
        key = payload.get("idempotencyKey")
        if key is not None and not isinstance(key, str):
            raise BadParam("idempotencyKey must be a string")
        found = self.config.find_function(request.path_params["app_id"], request.path_params["fn_id"])
        if found is None:
            return self._v2_error(404, "not_found", "Function not found")
        run, created = self.store.invoke(found[0], found[1], data, key or None)
        return self._v2_ok({"runId": run.id}, status=200 if created else 409)

    # -- /_stub (test control, not Inngest) ----------------------------------------------------------------

    async def stub_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def stub_requests(self, request: Request) -> Response:
        q = request.query_params
        try:
            entries = self.journal.entries(q.get("method"), q.get("path"))
        except ValueError:
            return JSONResponse({"error": "path must be a regular expression"}, status_code=400)
        return JSONResponse({"requests": entries, "faults": [r.describe() for r in self.faults.rules]})

    async def stub_clear_requests(self, request: Request) -> Response:
        self.journal.clear()
        return JSONResponse({"ok": True})

    async def stub_list_faults(self, request: Request) -> Response:
        return JSONResponse({"rules": [r.describe() for r in self.faults.rules]})

    async def stub_add_faults(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body() or b"null")
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if isinstance(payload, Mapping) and "rules" in payload:
            payload = payload["rules"]
        items = payload if isinstance(payload, list) else [payload]
        try:
            specs = [FaultSpec.from_mapping(item, f"rules[{i}]") for i, item in enumerate(items)]
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ids": self.faults.add(specs)})

    async def stub_clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        self.faults.release_hangs()
        return JSONResponse({"ok": True})

    async def stub_delete_fault(self, request: Request) -> Response:
        if not self.faults.remove(request.path_params["rule_id"]):
            return JSONResponse({"error": "no such fault rule"}, status_code=404)
        return JSONResponse({"ok": True})

    async def stub_force(self, request: Request) -> Response:
        action = request.path_params["action"]
        if action not in ("complete", "fail"):
            return _not_found()
        try:
            payload = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if not isinstance(payload, Mapping):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        if action == "complete":
            status, output = COMPLETED, payload.get("output")
        else:
            message = payload.get("message")
            status = FAILED
            output = error_output(message if isinstance(message, str) else "Run failed (forced by /_stub)")
        run_id = request.path_params["run_id"]
        run = self.store.get_run(run_id)
        if run is None:
            return JSONResponse({"error": "run not found"}, status_code=404)
        before = view(run, self.now()).status
        rv = self.store.force(run.id, status, output)
        assert rv is not None
        body = {"run": v2_run(rv, include_output=True, list_item=False)}
        if before in (COMPLETED, FAILED, CANCELLED):
            return JSONResponse({"error": "run already ended", **body}, status_code=409)
        return JSONResponse(body)

    async def stub_clock(self, request: Request) -> Response:
        now = self.now()
        return JSONResponse({"now": iso(now), "nowMs": now, "timeScale": self.clock.time_scale})

    async def stub_advance_clock(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body() or b"{}")
        except ValueError:
            payload = None
        ms = payload.get("ms") if isinstance(payload, Mapping) else None
        if not isinstance(ms, int | float) or isinstance(ms, bool) or ms < 0:
            return JSONResponse({"error": 'body must be {"ms": <non-negative number>}'}, status_code=400)
        self.clock.advance(ms)
        return await self.stub_clock(request)

    # -- assembly -------------------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/health", self.health, methods=["GET"]),
            Route("/e/", self.missing_event_key, methods=["POST"]),
            Route("/e/{key}", self.send_events, methods=["POST"]),
        ]
        v1: list[tuple[str, Endpoint, str]] = [
            ("/v1/events", self.v1_list_events, "GET"),
            ("/v1/events/{event_id}", self.v1_get_event, "GET"),
            ("/v1/events/{event_id}/runs", self.v1_event_runs, "GET"),
            ("/v1/runs/{run_id}", self.v1_get_run, "GET"),
            ("/v1/runs/{run_id}", self.v1_cancel_run, "DELETE"),
            ("/v1/runs/{run_id}/jobs", self.v1_run_jobs, "GET"),
            ("/v1/apps/{app_name}/functions", self.v1_app_functions, "GET"),
            ("/v1/cancellations", self.v1_create_cancellation, "POST"),
            ("/v1/cancellations", self.v1_list_cancellations, "GET"),
            ("/v1/cancellations/{cancellation_id}", self.v1_delete_cancellation, "DELETE"),
        ]
        routes += [Route(path, self._v1(ep), methods=[method]) for path, ep, method in v1]
        v2: list[tuple[str, Endpoint, str]] = [
            ("/health", self.v2_health, "GET"),
            ("/runs", self.v2_list_runs, "GET"),
            ("/runs/{run_id}", self.v2_get_run, "GET"),
            ("/runs/{run_id}/trace", self.v2_get_trace, "GET"),
            ("/runs/{run_id}/cancel", self.v2_cancel_run, "POST"),
            ("/runs/{run_id}/rerun", self.v2_rerun, "POST"),
            ("/events", self.v2_send_event, "POST"),
            ("/events/{event_id}/runs", self.v2_event_runs, "GET"),
            ("/apps", self.v2_list_apps, "GET"),
            ("/apps/{app_id}", self.v2_get_app, "GET"),
            ("/apps/{app_id}/functions", self.v2_app_functions, "GET"),
            ("/apps/{app_id}/functions/{fn_id}", self.v2_get_function, "GET"),
            ("/apps/{app_id}/functions/{fn_id}/runs", self.v2_function_runs, "GET"),
            ("/apps/{app_id}/functions/{fn_id}/invoke", self.v2_invoke, "POST"),
        ]
        for prefix in ("/v2", "/api/v2"):
            routes += [Route(prefix + path, self._v2(ep), methods=[method]) for path, ep, method in v2]
        if self.config.stub_routes:
            routes += [
                Route("/_stub/reset", self.stub_reset, methods=["POST"]),
                Route("/_stub/requests", self.stub_requests, methods=["GET"]),
                Route("/_stub/requests", self.stub_clear_requests, methods=["DELETE"]),
                Route("/_stub/faults", self.stub_list_faults, methods=["GET"]),
                Route("/_stub/faults", self.stub_add_faults, methods=["POST"]),
                Route("/_stub/faults", self.stub_clear_faults, methods=["DELETE"]),
                Route("/_stub/faults/{rule_id}", self.stub_delete_fault, methods=["DELETE"]),
                Route("/_stub/runs/{run_id}/{action}", self.stub_force, methods=["POST"]),
                Route("/_stub/clock", self.stub_clock, methods=["GET"]),
                Route("/_stub/clock/advance", self.stub_advance_clock, methods=["POST"]),
            ]
        return routes

    def build(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            log.debug(
                "inngest dev stand-in: %d app(s), dev mode: %s", len(self.config.apps), self.config.dev_mode
            )
            yield
            self.faults.release_hangs()

        async def not_found(request: Request, exc: Exception) -> Response:
            return _not_found()

        async def method_not_allowed(request: Request, exc: Exception) -> Response:
            headers = exc.headers if isinstance(exc, HTTPException) else None
            return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)

        app = Starlette(
            routes=self.routes(),
            middleware=[
                Middleware(StubLayer, journal=self.journal, faults=self.faults, now_iso=self._now_iso),
                Middleware(_ServerKind, kind=self.config.effective_server_kind),
            ],
            exception_handlers={404: not_found, 405: method_not_allowed},
            lifespan=lifespan,
        )
        app.router.redirect_slashes = False
        app.state.inngest_dev = self
        return app

    def _now_iso(self) -> str:
        return iso(self.now())


class _ServerKind:
    """Adds ``X-Inngest-Server-Kind`` to every response (the SDKs look at it)."""

    def __init__(self, app: ASGIApp, kind: str) -> None:
        self.app = app
        self.kind = kind.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-inngest-server-kind", self.kind)],
                }
            await send(message)

        await self.app(scope, receive, with_header)


def _not_found() -> Response:
    return PlainTextResponse("404 page not found\n", status_code=404)


def _multi(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def _bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise BadParam(f"{name} must be a boolean", "invalid_request")


def _limit_param(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit") or "0"
    try:
        limit = int(raw)
    except ValueError:
        raise BadParam("limit must be an integer", "invalid_request") from None
    if limit == 0:
        limit = default
    if limit < 1:
        raise BadParam("Limit must be at least 1")
    if limit > maximum:
        raise BadParam(f"Limit cannot exceed {maximum}")
    return limit


def _time_param(q: Mapping[str, str], name: str) -> int | None:
    raw = q.get(name)
    if not raw:
        return None
    value = parse_iso(raw)
    if value is None:
        raise BadParam(f"{name} must be a valid timestamp")
    return value


def _encode_cursor(key: tuple[int, int]) -> str:
    raw = json.dumps({"t": key[0], "s": key[1]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[int, int] | None:
    """Run-list cursors are opaque to clients: base64url of the last row's (time, sequence)."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        t, s = data["t"], data["s"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise BadParam("Cursor is invalid") from None
    if not all(isinstance(v, int) for v in (t, s)):
        raise BadParam("Cursor is invalid")
    return int(t), int(s)


async def _json_object(request: Request) -> dict[str, Any]:
    """The JSON object body of a v2 POST; an empty body counts as ``{}``."""
    body = (await request.body()).strip()
    if not body:
        return {}
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadParam("Request body must be valid JSON", "invalid_request") from None
    if not isinstance(payload, dict):
        raise BadParam("Request body must be a JSON object", "invalid_request")
    return payload


def create_app(config: DevConfig | None = None) -> Starlette:
    """A Starlette app serving the stand-in; ``None`` means the built-in demo config.

    The :class:`DevServer` behind it is ``app.state.inngest_dev`` (store, clock, journal, faults).
    """
    server = DevServer(config if config is not None else DevConfig.demo())
    return server.build()
