"""JSON shapes of the real APIs: v1 (snake_case, Go structs) and v2 (grpc-gateway protojson rules).

v2 rules (reference §3.2): lowerCamelCase names, short enum values, unpopulated fields omitted,
``durationMs`` as a string, ``output`` always an object (non-objects wrapped as ``{"data": v}``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .config import AppSpec, FunctionSpec
from .ids import stable_uuid
from .state import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    Cancellation,
    RunView,
    StepView,
    StoredEvent,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ENVIRONMENT_ID = stable_uuid("env", "dev")
ACCOUNT_ID = stable_uuid("account", "dev")
DEFAULT_RETRIES = 4

_V1_STATUS = {RUNNING: "Running", COMPLETED: "Completed", FAILED: "Failed", CANCELLED: "Cancelled"}
_SPAN_STATUS = {QUEUED: "WAITING", RUNNING: "RUNNING", COMPLETED: "COMPLETED", FAILED: "FAILED"}


def iso(ms: int) -> str:
    """RFC 3339 UTC with a ``Z``; milliseconds only when non-zero (like Go/protojson trimming)."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = ms % 1000
    return f"{base}.{frac:03d}Z" if frac else f"{base}Z"


def parse_iso(text: str) -> int | None:
    """Epoch ms of an RFC 3339 timestamp, or None."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return int((dt - _EPOCH) / timedelta(milliseconds=1))


def app_uuid(app: AppSpec) -> str:
    return stable_uuid("app", app.id)


def function_uuid(app: AppSpec, fn: FunctionSpec) -> str:
    return stable_uuid("function", app.id, fn.id)


def function_slug(app: AppSpec, fn: FunctionSpec) -> str:
    return f"{app.id}-{fn.id}"


def as_object(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {"data": value}


def _compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Drop protobuf zero values (None, False, 0, "", empty lists)."""
    return {k: v for k, v in fields.items() if not _is_zero(v)}


def _is_zero(value: Any) -> bool:
    return value is None or value is False or value == 0 or value == "" or value == []


# -- v1 ------------------------------------------------------------------------------------------------


def v1_event(evt: StoredEvent) -> dict[str, Any]:
    body: dict[str, Any] = {
        "internal_id": evt.internal_id,
        "account_id": ACCOUNT_ID,
        "environment_id": ENVIRONMENT_ID,
        "source": "key",
        "source_id": None,
        "received_at": iso(evt.received_ms),
        "id": evt.id,
        "name": evt.name,
        "data": evt.data,
        "user": evt.user,
        "ts": evt.ts,
    }
    if evt.v:
        body["v"] = evt.v
    return body


def v1_run(rv: RunView, queued_status: str) -> dict[str, Any]:
    run = rv.run
    body: dict[str, Any] = {
        "run_id": run.id,
        "run_started_at": iso(rv.started_ms if rv.started_ms is not None else run.queued_ms),
        "function_id": function_uuid(run.app, run.function),
        "function_version": 1,
        "environment_id": ENVIRONMENT_ID,
        "event_id": run.event.internal_id,
    }
    if run.original_run_id:
        body["original_run_id"] = run.original_run_id
    body["status"] = _V1_STATUS.get(rv.status, queued_status)
    body["ended_at"] = iso(rv.ended_ms) if rv.ended_ms is not None else None
    if rv.has_output:
        body["output"] = rv.output
    return body


def v1_cancellation(c: Cancellation) -> dict[str, Any]:
    """A ``cqrs.Cancellation`` as OSS writes it (``function_id`` is the SDK slug, ``if`` only when set)."""
    body: dict[str, Any] = {
        "created_at": iso(c.created_ms),
        "name": None,
        "id": c.id,
        "environment_id": ENVIRONMENT_ID,
        "function_internal_id": function_uuid(c.app, c.function),
        "function_id": function_slug(c.app, c.function),
        "started_after": iso(c.started_after) if c.started_after is not None else None,
        "started_before": iso(c.started_before),
    }
    if c.condition is not None:
        body["if"] = c.condition
    return body


def sdk_function_config(app: AppSpec, fn: FunctionSpec) -> dict[str, Any]:
    """What an SDK registers for a function (the raw ``config`` v1 reports)."""
    triggers: list[dict[str, Any]] = []
    for t in fn.triggers:
        if t.event is not None:
            triggers.append({"event": t.event, **({"expression": t.condition} if t.condition else {})})
        else:
            triggers.append({"cron": t.cron})
    slug = function_slug(app, fn)
    runtime = {
        "type": "http",
        "url": f"{app.url or 'http://localhost:3000/api/inngest'}?fnId={slug}&stepId=step",
    }
    config: dict[str, Any] = {
        "id": slug,
        "name": fn.name,
        "triggers": triggers,
        "steps": {"step": {"id": "step", "name": "step", "runtime": runtime}},
    }
    if fn.retries is not None:
        config["steps"]["step"]["retries"] = {"attempts": fn.retries}
    return config


def v1_function(app: AppSpec, fn: FunctionSpec, created_ms: int) -> dict[str, Any]:
    return {
        "internal_id": function_uuid(app, fn),
        "env_id": ENVIRONMENT_ID,
        "app_id": app_uuid(app),
        "id": function_slug(app, fn),
        "name": fn.name,
        "config": sdk_function_config(app, fn),
        "created_at": iso(created_ms),
        "archived_at": None,
    }


# -- v2 ------------------------------------------------------------------------------------------------


def v2_run(rv: RunView, *, include_output: bool, list_item: bool) -> dict[str, Any]:
    """A ``FunctionRun``; list items (ListRuns, GetEventRuns) add the slug and event name, as in OSS."""
    run = rv.run
    function = {"id": run.function.id, "name": run.function.name}
    trigger: dict[str, Any] = {"eventIds": [run.event.internal_id]}
    if list_item:
        function["slug"] = function_slug(run.app, run.function)
        trigger["eventName"] = run.event.name
    duration = rv.duration_ms
    body = _compact(
        {
            "id": run.id,
            "function": function,
            "app": {"id": run.app.id},
            "status": rv.status,
            "queuedAt": iso(run.queued_ms),
            "startedAt": iso(rv.started_ms) if rv.started_ms is not None else None,
            "endedAt": iso(rv.ended_ms) if rv.ended_ms is not None else None,
            "durationMs": str(duration) if duration else None,  # protojson omits a zero uint64
            "trigger": trigger,
        }
    )
    if include_output and rv.has_output:
        body["output"] = as_object(rv.output)
    return body


def _span_id(run_id: str, index: int) -> str:
    return hashlib.sha256(f"{run_id}:{index}".encode()).hexdigest()[:16]


def _step_span(rv: RunView, sv: StepView, include_output: bool) -> dict[str, Any]:
    duration = sv.ended_ms - sv.started_ms if sv.ended_ms is not None else None
    span = _compact(
        {
            "id": _span_id(rv.run.id, sv.index + 1),
            "name": sv.step.name,
            "status": sv.status,
            "stepOp": sv.step.op,
            "stepId": sv.step.id,
            "durationMs": str(duration) if duration else None,  # protojson omits a zero uint64
            "queuedAt": iso(sv.started_ms),
            "startedAt": iso(sv.started_ms),
            "endedAt": iso(sv.ended_ms) if sv.ended_ms is not None else None,
        }
    )
    if include_output and sv.output is not None and sv.ended_ms is not None:
        span["output"] = as_object(sv.output)
    return span


def v2_trace(rv: RunView, *, include_output: bool) -> dict[str, Any]:
    """``{runId, rootSpan}``: a root span for the run with one child span per step reached so far."""
    run = rv.run
    duration = rv.duration_ms
    root = _compact(
        {
            "id": _span_id(run.id, 0),
            "name": run.function.name,
            "status": _SPAN_STATUS.get(rv.status, rv.status),
            "durationMs": str(duration) if duration else None,  # protojson omits a zero uint64
            "queuedAt": iso(run.queued_ms),
            "startedAt": iso(rv.started_ms) if rv.started_ms is not None else None,
            "endedAt": iso(rv.ended_ms) if rv.ended_ms is not None else None,
        }
    )
    if include_output and rv.has_output:
        root["output"] = as_object(rv.output)
    children = [_step_span(rv, sv, include_output) for sv in rv.steps]
    if children:
        root["children"] = children
    return {"runId": run.id, "rootSpan": root}


def v2_app(app: AppSpec, synced_ms: int) -> dict[str, Any]:
    sync = _compact(
        {
            "status": "success",
            "syncedAt": iso(synced_ms),
            "sdkLanguage": app.sdk_language,
            "sdkVersion": app.sdk_version,
            "framework": app.framework,
            "url": app.url,
            "appVersion": app.app_version,
        }
    )
    return _compact(
        {
            "id": app.id,
            "name": app.name,
            "method": app.method,
            "appVersion": app.app_version,
            "createdAt": iso(synced_ms),
            "functionCount": len(app.functions),
            "latestSync": sync,
        }
    )


def v2_function(app: AppSpec, fn: FunctionSpec) -> dict[str, Any]:
    triggers = []
    for t in fn.triggers:
        if t.event is not None:
            triggers.append(_compact({"type": "EVENT", "value": t.event, "condition": t.condition}))
        else:
            triggers.append({"type": "CRON", "value": t.cron})
    if fn.retries is None:
        retries: dict[str, Any] = {"value": DEFAULT_RETRIES, "isDefault": True}
    else:
        retries = _compact({"value": fn.retries})
    return _compact(
        {
            "id": fn.id,
            "name": fn.name,
            "slug": fn.id,
            "app": {"id": app.id},
            "triggers": triggers,
            "configuration": {"retries": retries},
        }
    )
