"""In-memory events and runs, a controllable clock, and the run state machine.

Run state is never advanced by background tasks: a run stores when it was queued, the script of its
function and any override (cancel / forced completion), and :func:`view` derives its status, steps and
output for a given instant. Reading a run at a later clock time is all it takes to "progress" it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .config import AppSpec, DevConfig, FunctionSpec, StepSpec
from .ids import UlidFactory, seeded_ulids

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = "QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
WAITING_OPS = frozenset({"SLEEP", "WAIT_FOR_EVENT", "WAIT_FOR_SIGNAL"})

DEDUP_WINDOW_MS = 24 * 3600 * 1000
MIN_TS_MS = 315532800000  # 1980-01-01T00:00:00Z
MAX_TS_MS = 4102444800000  # 2100-01-01T00:00:00Z
INVOKE_EVENT_NAME = "inngest/function.invoked"


class Clock:
    """Epoch milliseconds: wall time at start + monotonic elapsed × ``time_scale`` + manual advances."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self._wall0 = time.time() * 1000.0
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def now_ms(self) -> int:
        elapsed = (time.monotonic() - self._mono0) * 1000.0 * self.time_scale
        return int(self._wall0 + elapsed + self._offset)

    def advance(self, ms: float) -> None:
        if ms < 0:
            raise ValueError("the clock only moves forward")
        self._offset += ms

    def reset(self) -> None:
        self._wall0 = time.time() * 1000.0
        self._mono0 = time.monotonic()
        self._offset = 0.0


@dataclass
class StoredEvent:
    internal_id: str
    name: str
    data: dict[str, Any]
    user: dict[str, Any]
    id: str
    ts: int
    v: str | None
    received_ms: int
    seq: int
    #: The user-supplied ``id`` (dedup key), if any.
    dedup_id: str | None = None


@dataclass
class Run:
    id: str
    app: AppSpec
    function: FunctionSpec
    event: StoredEvent
    queued_ms: int
    start_ms: int
    seq: int
    original_run_id: str | None = None
    #: A rerun from a step starts there; the steps before it keep their outputs (memoized, as in Inngest).
    from_step: int = 0
    cancelled_ms: int | None = None
    #: (status, at_ms, output) set by ``POST /_stub/runs/{id}/complete|fail``.
    forced: tuple[str, int, Any] | None = None


@dataclass
class StepView:
    step: StepSpec
    index: int
    status: str  # RUNNING | WAITING | COMPLETED | FAILED | CANCELLED
    started_ms: int
    ended_ms: int | None
    output: Any = None


@dataclass
class RunView:
    run: Run
    status: str
    started_ms: int | None
    ended_ms: int | None
    output: Any
    has_output: bool
    steps: list[StepView] = field(default_factory=list)

    @property
    def duration_ms(self) -> int | None:
        if self.ended_ms is None or self.started_ms is None:
            return None
        return max(0, self.ended_ms - self.started_ms)


def error_output(message: str) -> dict[str, Any]:
    return {"error": {"name": "Error", "message": message}}


def _natural(run: Run, t: int) -> RunView:
    """The run as its script alone would have it at time ``t``."""
    fn = run.function
    if t < run.start_ms:
        return RunView(run, QUEUED, None, None, None, False)
    steps: list[StepView] = []
    cursor = run.start_ms
    last_output: Any = None
    for index, step in enumerate(fn.steps):
        if index < run.from_step:
            steps.append(StepView(step, index, COMPLETED, cursor, cursor, step.output))
            last_output = step.output if step.output is not None else last_output
            continue
        end = cursor + step.duration_ms
        if t < cursor:
            break
        if t < end:
            status = "WAITING" if step.op in WAITING_OPS else RUNNING
            steps.append(StepView(step, index, status, cursor, None))
            return RunView(run, RUNNING, run.start_ms, None, None, False, steps)
        if step.fail_message is not None:
            err = error_output(step.fail_message)
            steps.append(StepView(step, index, FAILED, cursor, end, err))
            return RunView(run, FAILED, run.start_ms, end, err, True, steps)
        steps.append(StepView(step, index, COMPLETED, cursor, end, step.output))
        if step.output is not None:
            last_output = step.output
        cursor = end
    output = fn.output if fn.output is not None else last_output
    return RunView(run, COMPLETED, run.start_ms, cursor, output, output is not None, steps)


def view(run: Run, now: int) -> RunView:
    """Status, steps and output of ``run`` at ``now``, honouring a cancel or forced transition."""
    cut: tuple[str, int, Any] | None = None
    if run.cancelled_ms is not None:
        cut = (CANCELLED, run.cancelled_ms, None)
    elif run.forced is not None:
        cut = run.forced
    if cut is None or cut[1] > now:
        return _natural(run, now)
    final, at, output = cut
    base = _natural(run, at)
    if base.status in TERMINAL:  # overrides are only recorded on live runs; be defensive anyway
        return base
    steps = list(base.steps)
    if steps and steps[-1].ended_ms is None:
        inflight = steps[-1]
        step_status = {CANCELLED: CANCELLED, COMPLETED: COMPLETED, FAILED: FAILED}[final]
        step_output = output if final == FAILED else inflight.step.output if final == COMPLETED else None
        steps[-1] = StepView(inflight.step, inflight.index, step_status, inflight.started_ms, at, step_output)
    has_output = final != CANCELLED and output is not None
    return RunView(run, final, base.started_ms, at, output if has_output else None, has_output, steps)


_GO_UNMARSHAL = "json: cannot unmarshal into Go struct field Event.{field} of type {type}"


class EventError(ValueError):
    """One event of a request is invalid; the message is Inngest's."""


def normalize_event(raw: Any, now_ms: int) -> dict[str, Any]:
    """Validate one event payload the way the OSS event API does and fill its defaults."""
    if not isinstance(raw, Mapping):
        raise EventError("json: cannot unmarshal into Go value of type event.Event")
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise EventError(_GO_UNMARSHAL.format(field="name", type="string"))
    if name.startswith("inngest/"):
        raise EventError(f"event name is reserved for internal use: {name}")
    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise EventError(_GO_UNMARSHAL.format(field="data", type="map[string]interface {}"))
    user = raw.get("user")
    if user is None:
        user = {}
    if not isinstance(user, Mapping):
        raise EventError(_GO_UNMARSHAL.format(field="user", type="map[string]interface {}"))
    ts = raw.get("ts", 0)
    if ts is None:
        ts = 0
    if isinstance(ts, float) and ts.is_integer():
        ts = int(ts)
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise EventError(_GO_UNMARSHAL.format(field="ts", type="int64"))
    event_id = raw.get("id", "")
    if event_id is None:
        event_id = ""
    if not isinstance(event_id, str):
        raise EventError(_GO_UNMARSHAL.format(field="id", type="string"))
    version = raw.get("v")
    if version is not None and not isinstance(version, str):
        raise EventError(_GO_UNMARSHAL.format(field="v", type="string"))
    if not name:
        raise EventError("event name is empty")
    if ts == 0:
        ts = now_ms
    if ts < MIN_TS_MS:
        raise EventError("timestamp is before Jan 1, 1980")
    if ts > MAX_TS_MS:
        raise EventError("timestamp is after Jan 1, 2100")
    cleaned = {k: v for k, v in data.items() if k != "_inngest"}
    return {"name": name, "data": cleaned, "user": dict(user), "ts": ts, "id": event_id, "v": version}


def trigger_matches(pattern: str, name: str) -> bool:
    """Exact name, or a ``prefix*`` wildcard such as ``app/*`` or ``app/user.*``."""
    if pattern == name:
        return True
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return name.startswith(prefix) and len(name) > len(prefix)
    return False


_COND = re.compile(r"^\s*(event(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$")


def condition_holds(expression: str, event: StoredEvent) -> bool:
    """A small subset of Inngest's CEL ``if``: ``event.path OP literal`` joined by ``&&``.

    Expressions outside that subset are treated as true (the run is created).
    """
    doc = {"name": event.name, "data": event.data, "user": event.user, "id": event.id, "ts": event.ts}
    for clause in expression.split("&&"):
        m = _COND.match(clause)
        if not m:
            return True
        path, op, literal_text = m.groups()
        literal_text = literal_text.strip()
        if literal_text.startswith("'") and literal_text.endswith("'") and len(literal_text) >= 2:
            literal_text = json.dumps(literal_text[1:-1])
        try:
            literal = json.loads(literal_text)
        except ValueError:
            return True
        value: Any = doc
        for part in path.split(".")[1:]:
            value = value.get(part) if isinstance(value, Mapping) else None
        try:
            ok = {
                "==": lambda a, b: a == b,
                "!=": lambda a, b: a != b,
                ">": lambda a, b: a > b,
                "<": lambda a, b: a < b,
                ">=": lambda a, b: a >= b,
                "<=": lambda a, b: a <= b,
            }[op](value, literal)
        except TypeError:
            ok = False
        if not ok:
            return False
    return True


def _function_wants(fn: FunctionSpec, evt: StoredEvent) -> bool:
    for trigger in fn.triggers:
        if trigger.event is None or not trigger_matches(trigger.event, evt.name):
            continue
        if trigger.condition is None or condition_holds(trigger.condition, evt):
            return True
    return False


@dataclass
class Cancellation:
    """A bulk cancellation (``POST /v1/cancellations``): runs of one function queued in a time window."""

    id: str
    app: AppSpec
    function: FunctionSpec
    created_ms: int
    started_before: int
    started_after: int | None
    condition: str | None
    cancelled_runs: tuple[str, ...] = ()


class CancelOutcome(Enum):
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    ALREADY_CANCELLED = "already_cancelled"
    ENDED = "ended"


class Store:
    """All events and runs of one stand-in instance."""

    def __init__(self, config: DevConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._ulids = UlidFactory()
        self.reset()

    def reset(self) -> None:
        self.events: dict[str, StoredEvent] = {}
        self.runs: dict[str, Run] = {}
        self._seq = 0
        self._dedup: dict[tuple[str, str, str], int] = {}
        self._idempotency: dict[tuple[str, str, str], tuple[str, int]] = {}
        self.cancellations: dict[str, Cancellation] = {}

    def now(self) -> int:
        return self.clock.now_ms()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- events -----------------------------------------------------------------------------------------

    def event_ids(self, count: int, seed_header: str | None) -> list[str]:
        seeded = seeded_ulids(seed_header, count)
        if seeded is not None:
            return seeded
        now = self.now()
        return [self._ulids.new(now) for _ in range(count)]

    def store_event(self, internal_id: str, normalized: Mapping[str, Any]) -> StoredEvent:
        """Store a validated event and schedule the runs it triggers (idempotent per internal ID)."""
        existing = self.events.get(internal_id)
        if existing is not None:
            return existing
        now = self.now()
        dedup_id = normalized["id"] or None
        evt = StoredEvent(
            internal_id=internal_id,
            name=normalized["name"],
            data=dict(normalized["data"]),
            user=dict(normalized["user"]),
            id=normalized["id"] or internal_id,
            ts=int(normalized["ts"]),
            v=normalized.get("v"),
            received_ms=now,
            seq=self._next_seq(),
            dedup_id=dedup_id,
        )
        self.events[internal_id] = evt
        if not evt.name.startswith("inngest/"):
            self._trigger(evt, now)
        return evt

    def _trigger(self, evt: StoredEvent, now: int) -> None:
        for app in self.config.apps:
            for fn in app.functions:
                if not _function_wants(fn, evt):
                    continue
                if evt.dedup_id is not None:
                    key = (app.id, fn.id, evt.dedup_id)
                    seen = self._dedup.get(key)
                    if seen is not None and now - seen < DEDUP_WINDOW_MS:
                        continue
                    self._dedup[key] = now
                self._new_run(app, fn, evt, now + self.config.run_create_delay_ms)

    def _new_run(
        self, app: AppSpec, fn: FunctionSpec, evt: StoredEvent, queued: int, original: str | None = None
    ) -> Run:
        run = Run(
            id=self._ulids.new(queued),
            app=app,
            function=fn,
            event=evt,
            queued_ms=queued,
            start_ms=queued + self.config.queue_delay_ms,
            seq=self._next_seq(),
            original_run_id=original,
        )
        self.runs[run.id] = run
        return run

    def list_events(self) -> list[StoredEvent]:
        """Newest first."""
        return sorted(self.events.values(), key=lambda e: (e.received_ms, e.seq), reverse=True)

    # -- runs -------------------------------------------------------------------------------------------

    def visible_runs(self, now: int | None = None) -> Iterator[Run]:
        t = self.now() if now is None else now
        return (r for r in self.runs.values() if r.queued_ms <= t)

    def get_run(self, run_id: str, now: int | None = None) -> Run | None:
        run = self.runs.get(run_id.upper())
        t = self.now() if now is None else now
        if run is None or run.queued_ms > t:
            return None
        return run

    def runs_for_event(self, event_id: str) -> list[Run]:
        ev = event_id.upper()
        return sorted((r for r in self.visible_runs() if r.event.internal_id == ev), key=lambda r: r.seq)

    def cancel(self, run_id: str) -> CancelOutcome:
        now = self.now()
        run = self.get_run(run_id, now)
        if run is None:
            return CancelOutcome.NOT_FOUND
        status = view(run, now).status
        if status == CANCELLED:
            return CancelOutcome.ALREADY_CANCELLED
        if status in TERMINAL:
            return CancelOutcome.ENDED
        run.cancelled_ms = now
        return CancelOutcome.CANCELLED

    def force(self, run_id: str, status: str, output: Any) -> RunView | None:
        """Force a live run to COMPLETED or FAILED now; returns None if unknown, the view if it had ended."""
        now = self.now()
        run = self.get_run(run_id, now)
        if run is None:
            return None
        current = view(run, now)
        if current.status in TERMINAL:
            return current
        if status == COMPLETED and output is None:
            output = run.function.output
        run.forced = (status, now, output)
        return view(run, now)

    def rerun(self, run_id: str, from_step: int = 0) -> Run | None:
        """A new run of the same function and event; from a step, the steps before it are memoized."""
        now = self.now()
        run = self.get_run(run_id, now)
        if run is None:
            return None
        new = self._new_run(run.app, run.function, run.event, now, original=run.id)
        new.from_step = from_step
        return new

    def cancel_window(
        self,
        app: AppSpec,
        fn: FunctionSpec,
        started_before: int,
        started_after: int | None,
        condition: str | None,
    ) -> Cancellation:
        """Cancel every live run of ``fn`` queued in the window whose event satisfies ``condition``."""
        now = self.now()
        cancelled: list[str] = []
        for run in sorted(self.visible_runs(now), key=lambda r: r.seq):
            if run.app.id != app.id or run.function.id != fn.id:
                continue
            after = started_after if started_after is not None else run.queued_ms
            if not after <= run.queued_ms <= started_before:
                continue
            if condition is not None and not condition_holds(condition, run.event):
                continue
            if view(run, now).status not in TERMINAL:
                run.cancelled_ms = now
                cancelled.append(run.id)
        found = Cancellation(
            id=self._ulids.new(now),
            app=app,
            function=fn,
            created_ms=now,
            started_before=started_before,
            started_after=started_after,
            condition=condition,
            cancelled_runs=tuple(cancelled),
        )
        self.cancellations[found.id] = found
        return found

    def invoke(
        self, app: AppSpec, fn: FunctionSpec, data: Mapping[str, Any], idempotency_key: str | None
    ) -> tuple[Run, bool]:
        """Create an ``inngest/function.invoked`` event and its run; (existing run, False) on key reuse."""
        now = self.now()
        if idempotency_key is not None:
            key = (app.id, fn.id, idempotency_key)
            seen = self._idempotency.get(key)
            if seen is not None and now - seen[1] < DEDUP_WINDOW_MS and seen[0] in self.runs:
                return self.runs[seen[0]], False
        internal_id = self._ulids.new(now)
        payload = {"name": INVOKE_EVENT_NAME, "data": dict(data), "user": {}, "ts": now, "id": "", "v": None}
        evt = self.store_event(internal_id, payload)
        run = self._new_run(app, fn, evt, now)
        if idempotency_key is not None:
            self._idempotency[(app.id, fn.id, idempotency_key)] = (run.id, now)
        return run, True
