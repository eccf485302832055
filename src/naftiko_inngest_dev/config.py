"""Configuration of the stand-in: keys, apps/functions with their simulated scripts, timing, faults.

A config file is YAML or JSON with snake_case keys; unknown keys are rejected so typos do not go unnoticed.
See the package docstring for a full example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

STEP_OPS = ("RUN", "SLEEP", "WAIT_FOR_EVENT", "INVOKE", "SEND_EVENT", "AI_GATEWAY", "WAIT_FOR_SIGNAL")
APP_METHODS = ("SERVE", "CONNECT", "API")
FAULT_ACTIONS = ("delay", "status", "reset", "hang", "slow", "truncate")
FAULT_PHASES = ("before", "after")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the offending key path."""


@dataclass(frozen=True)
class StepSpec:
    """One simulated step: it runs for ``duration_ms`` of clock time, then succeeds or fails."""

    id: str
    name: str
    op: str = "RUN"
    duration_ms: int = 1000
    output: Any = None
    fail_message: str | None = None


@dataclass(frozen=True)
class TriggerSpec:
    """An event trigger (exact name or a ``prefix*`` wildcard, optional ``if`` condition) or a cron."""

    event: str | None = None
    cron: str | None = None
    condition: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    id: str
    name: str
    triggers: tuple[TriggerSpec, ...] = ()
    steps: tuple[StepSpec, ...] = ()
    #: The run's output when it completes; defaults to the last step's output.
    output: Any = None
    retries: int | None = None


@dataclass(frozen=True)
class AppSpec:
    id: str
    name: str
    functions: tuple[FunctionSpec, ...] = ()
    method: str = "SERVE"
    url: str | None = None
    sdk_language: str | None = "py"
    sdk_version: str | None = None
    framework: str | None = None
    app_version: str | None = None


@dataclass(frozen=True)
class FaultSpec:
    """A fault rule: which requests it matches, when it fires, and what it does.

    ``nth`` counts matching requests from 1; ``every`` fires on every n-th match; ``times`` caps how often
    it fires; ``probability`` uses the seeded RNG. ``phase="after"`` lets the real handler run first (the
    side effect happens) and then replaces, delays or drops its reply.
    """

    action: str
    path: str = ".*"
    method: str | None = None
    match_headers: Mapping[str, str] = field(default_factory=dict)
    nth: tuple[int, ...] = ()
    every: int | None = None
    times: int | None = None
    probability: float | None = None
    phase: str = "before"
    ms: int = 0
    status: int = 500
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    id: str | None = None

    @classmethod
    def from_mapping(cls, data: Any, where: str = "fault") -> FaultSpec:
        r = _Reader(data, where)
        action = r.choice("action", FAULT_ACTIONS, required=True)
        path = r.text("path", ".*")
        try:
            re.compile(path)
        except re.error as exc:
            raise ConfigError(f"{where}.path: invalid regular expression ({exc})") from None
        nth_raw = r.get("nth")
        if nth_raw is None:
            nth: tuple[int, ...] = ()
        elif isinstance(nth_raw, int) and not isinstance(nth_raw, bool):
            nth = (nth_raw,)
        elif isinstance(nth_raw, list) and all(_is_int(n) for n in nth_raw):
            nth = tuple(nth_raw)
        else:
            raise ConfigError(f"{where}.nth: must be an integer or a list of integers")
        if any(n < 1 for n in nth):
            raise ConfigError(f"{where}.nth: request numbers start at 1")
        method = r.opt_text("method")
        spec = cls(
            action=action,
            path=path,
            method=method.upper() if method else None,
            match_headers={k.lower(): v for k, v in r.text_map("match_headers").items()},
            nth=nth,
            every=r.opt_integer("every", minimum=1),
            times=r.opt_integer("times", minimum=0),
            probability=r.opt_number("probability", 0.0, 1.0),
            phase=r.choice("phase", FAULT_PHASES, default="before"),
            ms=r.integer("ms", 0, minimum=0),
            status=r.integer("status", 500, minimum=100, maximum=599),
            body=r.get("body"),
            headers=r.text_map("headers"),
            content_type=r.opt_text("content_type"),
            id=r.opt_text("id"),
        )
        for key in spec.match_headers.values():
            try:
                re.compile(key)
            except re.error as exc:
                raise ConfigError(f"{where}.match_headers: invalid regular expression ({exc})") from None
        r.done()
        return spec


@dataclass
class DevConfig:
    """Everything the stand-in needs. Empty ``event_keys`` means dev mode (any event key accepted);
    empty ``signing_keys`` (and ``api_keys``) means no auth on ``/v1`` and ``/v2``, like ``inngest dev``.
    """

    apps: list[AppSpec] = field(default_factory=list)
    event_keys: list[str] = field(default_factory=list)
    signing_keys: list[str] = field(default_factory=list)
    api_keys: list[str] = field(default_factory=list)
    #: Clock speed: 1.0 is real time, 0 freezes it (advance it with ``POST /_stub/clock/advance``).
    time_scale: float = 1.0
    run_create_delay_ms: int = 0
    queue_delay_ms: int = 0
    max_body_bytes: int = 512 * 1024
    max_events_per_request: int = 5000
    unknown_event_key_status: int = 401
    #: OSS answers 500 for an unknown run on ``GET /v1/runs/{id}``; the published spec says 404.
    v1_unknown_run_status: int = 404
    #: The v1 status enum has no queued value; OSS shows ``Running`` (or ``Scheduled``).
    v1_queued_status: str = "Running"
    #: Value of the ``X-Inngest-Server-Kind`` header; default ``dev`` in dev mode, else ``cloud``.
    server_kind: str | None = None
    stub_routes: bool = True
    fault_seed: int = 0
    faults: list[FaultSpec] = field(default_factory=list)

    @property
    def dev_mode(self) -> bool:
        return not self.event_keys

    @property
    def effective_server_kind(self) -> str:
        return self.server_kind or ("dev" if self.dev_mode else "cloud")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DevConfig:
        r = _Reader(data, "config")
        apps = [_app(a, f"apps[{i}]") for i, a in enumerate(r.items("apps"))]
        seen: set[str] = set()
        for app in apps:
            if app.id in seen:
                raise ConfigError(f"apps: duplicate app id {app.id!r}")
            seen.add(app.id)
        config = cls(
            apps=apps,
            event_keys=r.texts("event_keys"),
            signing_keys=r.texts("signing_keys"),
            api_keys=r.texts("api_keys"),
            time_scale=r.number("time_scale", 1.0, minimum=0.0),
            run_create_delay_ms=r.integer("run_create_delay_ms", 0, minimum=0),
            queue_delay_ms=r.integer("queue_delay_ms", 0, minimum=0),
            max_body_bytes=r.integer("max_body_bytes", 512 * 1024, minimum=1),
            max_events_per_request=r.integer("max_events_per_request", 5000, minimum=1),
            unknown_event_key_status=r.integer("unknown_event_key_status", 401, minimum=400, maximum=499),
            v1_unknown_run_status=r.integer("v1_unknown_run_status", 404, minimum=400, maximum=599),
            v1_queued_status=r.choice("v1_queued_status", ("Running", "Scheduled"), default="Running"),
            server_kind=r.opt_text("server_kind"),
            stub_routes=r.flag("stub_routes", True),
            fault_seed=r.integer("fault_seed", 0),
            faults=[FaultSpec.from_mapping(f, f"faults[{i}]") for i, f in enumerate(r.items("faults"))],
        )
        r.done()
        return config

    @classmethod
    def from_file(cls, path: str | Path) -> DevConfig:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML/JSON: {exc}") from None
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"config file {p}: the top level must be a mapping")
        return cls.from_mapping(data)

    @classmethod
    def demo(cls) -> DevConfig:
        """The built-in demo: dev mode, one app ``demo-app`` (see :data:`DEMO_CONFIG`)."""
        return cls.from_mapping(DEMO_CONFIG)

    def find_function(self, app_id: str, function_id: str) -> tuple[AppSpec, FunctionSpec] | None:
        for app in self.apps:
            if app.id != app_id:
                continue
            for fn in app.functions:
                if fn.id == function_id or f"{app.id}-{fn.id}" == function_id:
                    return app, fn
        return None

    def add_quick_function(self, app_id: str, function_id: str, event: str) -> None:
        """Register ``app_id/function_id`` on ``event`` with one 1-second step (CLI ``--function``)."""
        fn = FunctionSpec(
            id=function_id,
            name=function_id,
            triggers=(TriggerSpec(event=event),),
            steps=(StepSpec(id="step-1", name="step-1", duration_ms=1000, output={"ok": True}),),
            output={"ok": True},
        )
        for i, app in enumerate(self.apps):
            if app.id == app_id:
                kept = tuple(f for f in app.functions if f.id != function_id)
                self.apps[i] = replace(app, functions=(*kept, fn))
                return
        self.apps.append(AppSpec(id=app_id, name=app_id, functions=(fn,)))


#: The demo configuration used when the CLI gets no ``--config``.
DEMO_CONFIG: dict[str, Any] = {
    "apps": [
        {
            "id": "demo-app",
            "name": "Demo App",
            "url": "http://localhost:3000/api/inngest",
            "functions": [
                {
                    "id": "send-welcome-email",
                    "name": "Send welcome email",
                    "triggers": [{"event": "app/user.signup"}],
                    "steps": [
                        {
                            "id": "load-user",
                            "name": "Load user",
                            "duration_ms": 500,
                            "output": {"found": True},
                        },
                        {
                            "id": "send-email",
                            "name": "Send email",
                            "duration_ms": 1000,
                            "output": {"messageId": "msg_demo_1"},
                        },
                    ],
                    "output": {"sent": True},
                },
                {
                    "id": "process-order",
                    "name": "Process order",
                    "triggers": [{"event": "app/order.created"}],
                    "steps": [
                        {"id": "reserve-stock", "name": "Reserve stock", "duration_ms": 5000},
                        {"id": "charge-card", "name": "Charge card", "duration_ms": 10000},
                        {
                            "id": "wait-for-warehouse",
                            "name": "Wait for warehouse",
                            "op": "SLEEP",
                            "duration_ms": 40000,
                        },
                        {"id": "notify-customer", "name": "Notify customer", "duration_ms": 5000},
                    ],
                    "output": {"status": "fulfilled"},
                },
                {
                    "id": "always-fails",
                    "name": "Always fails",
                    "triggers": [{"event": "app/fail"}],
                    "retries": 0,
                    "steps": [
                        {"id": "prepare", "name": "Prepare", "duration_ms": 500},
                        {
                            "id": "explode",
                            "name": "Explode",
                            "duration_ms": 500,
                            "fail": "Something went wrong (demo failure)",
                        },
                    ],
                },
                {
                    "id": "nightly-report",
                    "name": "Nightly report",
                    "triggers": [{"cron": "0 3 * * *"}],
                    "steps": [{"id": "build-report", "name": "Build report", "duration_ms": 2000}],
                },
            ],
        }
    ]
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _app(data: Any, where: str) -> AppSpec:
    r = _Reader(data, where)
    app_id = r.text("id", required=True)
    functions = tuple(_function(f, f"{where}.functions[{i}]") for i, f in enumerate(r.items("functions")))
    ids = [f.id for f in functions]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{where}.functions: duplicate function id {dupes[0]!r}")
    app = AppSpec(
        id=app_id,
        name=r.text("name", app_id),
        functions=functions,
        method=r.choice("method", APP_METHODS, default="SERVE"),
        url=r.opt_text("url"),
        sdk_language=r.opt_text("sdk_language", "py"),
        sdk_version=r.opt_text("sdk_version"),
        framework=r.opt_text("framework"),
        app_version=r.opt_text("app_version"),
    )
    r.done()
    return app


def _function(data: Any, where: str) -> FunctionSpec:
    r = _Reader(data, where)
    fn_id = r.text("id", required=True)
    triggers: list[TriggerSpec] = []
    for i, t in enumerate(r.items("triggers")):
        triggers.append(_trigger(t, f"{where}.triggers[{i}]"))
    single = r.opt_text("trigger")
    if single is not None:
        triggers.append(TriggerSpec(event=single))
    steps = tuple(_step(s, f"{where}.steps[{i}]", i) for i, s in enumerate(r.items("steps")))
    fn = FunctionSpec(
        id=fn_id,
        name=r.text("name", fn_id),
        triggers=tuple(triggers),
        steps=steps,
        output=r.get("output"),
        retries=r.opt_integer("retries", minimum=0),
    )
    r.done()
    return fn


def _trigger(data: Any, where: str) -> TriggerSpec:
    if isinstance(data, str):
        return TriggerSpec(event=data)
    r = _Reader(data, where)
    spec = TriggerSpec(event=r.opt_text("event"), cron=r.opt_text("cron"), condition=r.opt_text("if"))
    r.done()
    if (spec.event is None) == (spec.cron is None):
        raise ConfigError(f"{where}: a trigger has exactly one of 'event' or 'cron'")
    if spec.event is not None and not spec.event:
        raise ConfigError(f"{where}.event: must not be empty")
    return spec


def _step(data: Any, where: str, index: int) -> StepSpec:
    r = _Reader(data, where)
    step_id = r.text("id", f"step-{index + 1}")
    fail = r.get("fail")
    if fail is None or fail is False:
        fail_message = None
    elif fail is True:
        fail_message = "Step failed"
    elif isinstance(fail, str):
        fail_message = fail
    elif isinstance(fail, Mapping) and isinstance(fail.get("message"), str):
        fail_message = str(fail["message"])
    else:
        raise ConfigError(f"{where}.fail: must be true, a message string or {{message: ...}}")
    spec = StepSpec(
        id=step_id,
        name=r.text("name", step_id),
        op=r.choice("op", STEP_OPS, default="RUN", upper=True),
        duration_ms=r.integer("duration_ms", 1000, minimum=0),
        output=r.get("output"),
        fail_message=fail_message,
    )
    r.done()
    return spec


class _Reader:
    """Typed access to one mapping of the config; ``done()`` rejects keys nobody asked for."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: must be a mapping")
        self._data: Mapping[str, Any] = data
        self._where = where
        self._used: set[str] = set()

    def get(self, key: str) -> Any:
        self._used.add(key)
        return self._data.get(key)

    def _fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self._where}.{key}: {what}")

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self.get(key)
        if value is None:
            if required:
                raise self._fail(key, "is required")
            return default
        if not isinstance(value, str) or (required and not value):
            raise self._fail(key, "must be a non-empty string" if required else "must be a string")
        return value

    def opt_text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._fail(key, "must be a string")
        return value

    def choice(
        self,
        key: str,
        options: tuple[str, ...],
        *,
        default: str = "",
        required: bool = False,
        upper: bool = False,
    ) -> str:
        value = self.text(key, default, required=required)
        if upper:
            value = value.upper()
        if value not in options:
            raise self._fail(key, f"must be one of {', '.join(options)}")
        return value

    def integer(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self.opt_integer(key, minimum=minimum, maximum=maximum)
        return default if value is None else value

    def opt_integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(key, "must be an integer")
        if minimum is not None and value < minimum:
            raise self._fail(key, f"must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise self._fail(key, f"must be <= {maximum}")
        return value

    def number(self, key: str, default: float, *, minimum: float | None = None) -> float:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._fail(key, "must be a number")
        if minimum is not None and value < minimum:
            raise self._fail(key, f"must be >= {minimum}")
        return float(value)

    def opt_number(self, key: str, minimum: float, maximum: float) -> float | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise self._fail(key, f"must be a number between {minimum} and {maximum}")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "must be true or false")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "must be a list")
        return value

    def texts(self, key: str) -> list[str]:
        values = self.items(key)
        if not all(isinstance(v, str) and v for v in values):
            raise self._fail(key, "must be a list of non-empty strings")
        return list(values)

    def text_map(self, key: str) -> dict[str, str]:
        value = self.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._fail(key, "must be a mapping of strings to strings")
        return dict(value)

    def done(self) -> None:
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            raise ConfigError(f"{self._where}: unknown key {unknown[0]!r}")
