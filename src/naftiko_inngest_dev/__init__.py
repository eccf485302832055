"""A local Inngest-compatible upstream ("inngest dev stand-in") for end-to-end and reliability tests.

It serves only Inngest's real HTTP surface (see ``shared/reference/inngest-api.md``):

* Event API — ``POST /e/{eventKey}`` (one event or an array), ``GET /health``;
* REST v1 — ``GET /v1/events``, ``GET /v1/events/{id}``, ``GET /v1/events/{id}/runs``,
  ``GET|DELETE /v1/runs/{id}``, ``GET /v1/runs/{id}/jobs``, ``GET /v1/apps/{appName}/functions``,
  ``POST|GET /v1/cancellations`` (bulk cancellation of a function's runs in a time window, applied at once),
  ``DELETE /v1/cancellations/{id}``;
* REST v2 (at ``/v2`` and ``/api/v2``) — ``health``, ``runs`` (list, get, ``trace``, ``cancel``, ``rerun``),
  ``events`` (send, ``{id}/runs``), ``apps`` (list, get, ``functions``, ``functions/{fn}``,
  ``functions/{fn}/runs``, ``functions/{fn}/invoke``).

Runs are simulated: every function has a script of steps with durations; a rerun from a step keeps the
outputs of the steps before it (memoized, zero duration); a run's status is derived lazily from a clock
(``time_scale`` × monotonic time + manual advances), so nothing runs in the background.

Test control lives under ``/_stub/`` — **not** part of Inngest's API (disable with ``stub_routes: false``):

=========================================  ==========================================================
``POST   /_stub/reset``                    forget events/runs/journal, restore configured faults, reset clock
``GET    /_stub/requests``                 journal ``{"requests", "faults"}``; ``?method=&path=<regex>``
``DELETE /_stub/requests``                 clear the journal
``GET    /_stub/faults``                   rules with ``matched``/``fired`` counters
``POST   /_stub/faults``                   add a rule, a list or ``{"rules": [...]}`` → ``{"ids": [...]}``
``DELETE /_stub/faults``                   remove all rules (and release hanging requests)
``DELETE /_stub/faults/{id}``              remove one rule
``POST   /_stub/runs/{id}/complete``       force COMPLETED now (body ``{"output": ...}`` optional)
``POST   /_stub/runs/{id}/fail``           force FAILED now (body ``{"message": "..."}`` optional)
``GET    /_stub/clock``                    ``{"now", "nowMs", "timeScale"}``
``POST   /_stub/clock/advance``            body ``{"ms": N}``: move the clock forward
=========================================  ==========================================================

Journal entries are ``{seq, at, method, path, query, query_params, headers, body, json?, status, fault}``;
they hold what the client sent verbatim (including credentials) and exist only for test assertions.

Config file (YAML or JSON; every key optional)::

    event_keys: [test-event-key]        # empty: dev mode, any key accepted
    signing_keys: [signkey-test-0123abcd] # empty: no auth on /v1 and /v2
    api_keys: []                        # sk-inn-api-... accepted on /v2 only
    time_scale: 0                       # 1 = real time; 0 = frozen (advance via /_stub/clock/advance)
    run_create_delay_ms: 0              # event accepted -> run visible
    queue_delay_ms: 0                   # QUEUED -> RUNNING
    max_body_bytes: 524288              # /e body cap (413 beyond)
    unknown_event_key_status: 401       # or 404
    v1_unknown_run_status: 404          # OSS answers 500
    v1_queued_status: Running           # or Scheduled
    apps:
      - id: shop
        name: Shop
        functions:
          - id: process-order
            name: Process order
            triggers: [{event: shop/order.created}, {event: "shop/admin.*", if: "event.data.force == true"}]
            retries: 2
            steps:
              - {id: charge, name: Charge card, duration_ms: 2000, output: {charged: true}}
              - {id: wait, name: Wait for warehouse, op: SLEEP, duration_ms: 30000}
              - {id: ship, name: Ship, duration_ms: 1000, fail: "carrier unavailable"}
            output: {shipped: true}
    faults:
      - {method: POST, path: "^/e/", nth: [1, 2], action: status, status: 503}
      - {path: "^/v2/runs/", action: delay, ms: 1500, times: 1}
      - {method: POST, path: "^/e/", action: reset, phase: after, times: 1}

Fault rule keys: ``action`` (delay|status|reset|hang|slow|truncate), ``path`` (regex, searched), ``method``,
``match_headers`` ({name: regex}), ``nth`` (int or list, 1-based count of matching requests), ``every``,
``times``, ``probability`` (seeded by ``fault_seed``), ``phase`` (before|after), ``ms``, ``status``,
``body`` (JSON value or text; default: an Inngest-shaped error body), ``headers``, ``content_type``, ``id``.
"""

from __future__ import annotations

from .app import DevServer, create_app
from .config import (
    DEMO_CONFIG,
    AppSpec,
    ConfigError,
    DevConfig,
    FaultSpec,
    FunctionSpec,
    StepSpec,
    TriggerSpec,
)

__all__ = [
    "DEMO_CONFIG",
    "AppSpec",
    "ConfigError",
    "DevConfig",
    "DevServer",
    "FaultSpec",
    "FunctionSpec",
    "StepSpec",
    "TriggerSpec",
    "create_app",
]
