"""Per-namespace :class:`~.resilience.Policy` settings from the command line and the runtime config file.

The file (``naftiko serve --upstream-config FILE``, YAML or JSON) holds one entry per consumed namespace,
and ``"*"`` for every namespace; a namespace's own entry wins, then flags win over the file::

    upstreams:
      "*":
        attempts: 3
        totalTimeout: 20
      inngest-events:
        idempotencyKey: id      # Inngest deduplicates events by their id for 24 h
        limit: 32

Keys: ``connectTimeout``, ``readTimeout``, ``totalTimeout`` (seconds), ``attempts``, ``backoff``,
``maxBackoff``, ``maxRetryAfter`` (seconds), ``limit`` (calls in flight), ``queue`` (seconds to wait for
a slot), ``failures`` (in a row to open the circuit; 0 turns the breaker off), ``cooldown`` (seconds),
``idempotencyKey`` (the body field the upstream deduplicates on).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .resilience import Policy

ALL = "*"


def _number(minimum: float, *, above: bool = False) -> Callable[[Any], float]:
    def read(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if value < minimum or (above and value == minimum):
            raise ValueError(f"must be {'more than' if above else 'at least'} {minimum:g}")
        return float(value)

    return read


def _integer(minimum: int) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return read


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a field name")
    return value


#: file key -> (Policy attribute, ``timeouts.`` for the nested timeouts; reader)
KEYS: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "connectTimeout": ("timeouts.connect", _number(0, above=True)),
    "readTimeout": ("timeouts.read", _number(0, above=True)),
    "totalTimeout": ("timeouts.total", _number(0, above=True)),
    "attempts": ("attempts", _integer(1)),
    "backoff": ("backoff", _number(0)),
    "maxBackoff": ("max_backoff", _number(0)),
    "maxRetryAfter": ("max_retry_after", _number(0)),
    "limit": ("limit", _integer(1)),
    "queue": ("queue", _number(0)),
    "failures": ("failures", _integer(0)),
    "cooldown": ("cooldown", _number(0, above=True)),
    "idempotencyKey": ("idempotency_key", _name),
}


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """Settings by namespace (or ``*``): attribute -> value, applied over a base policy."""

    entries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def over(self, base: PolicySettings) -> PolicySettings:
        """These settings with ``base`` beneath them (ours win key by key)."""
        merged: dict[str, dict[str, Any]] = {ns: dict(v) for ns, v in base.entries.items()}
        for namespace, values in self.entries.items():
            merged.setdefault(namespace, {}).update(values)
        return PolicySettings(merged)

    def namespaces(self) -> set[str]:
        return set(self.entries) - {ALL}

    def policy(self, namespace: str, base: Policy) -> Policy:
        values = {**self.entries.get(ALL, {}), **self.entries.get(namespace, {})}
        plain = {k: v for k, v in values.items() if not k.startswith("timeouts.")}
        timed = {k.removeprefix("timeouts."): v for k, v in values.items() if k.startswith("timeouts.")}
        policy = replace(base, **plain)
        return replace(policy, timeouts=replace(policy.timeouts, **timed)) if timed else policy


def read_entry(values: Any, where: str) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings")
    out: dict[str, Any] = {}
    for key, value in values.items():
        row = KEYS.get(key)
        if row is None:
            raise ConfigError(f"{where}.{key}: unknown setting (known: {', '.join(KEYS)})")
        attribute, read = row
        try:
            out[attribute] = read(value)
        except ValueError as exc:
            raise ConfigError(f"{where}.{key}: {exc}") from None
    return out


def load_settings(path: str | Path) -> PolicySettings:
    """Read the runtime config file; every mistake is a :class:`ConfigError` naming the file and key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise ConfigError(f"{file}: not valid {'JSON' if file.suffix == '.json' else 'YAML'}") from None
    if not isinstance(data, Mapping) or set(data) - {"upstreams"}:
        raise ConfigError(f"{file}: expected a mapping with one key, 'upstreams'")
    upstreams = data.get("upstreams") or {}
    if not isinstance(upstreams, Mapping):
        raise ConfigError(f"{file}: upstreams: expected a mapping of namespace to settings")
    return PolicySettings({str(ns): read_entry(v, f"{file}: upstreams.{ns}") for ns, v in upstreams.items()})


def flag_settings(option: str, key: str, pairs: Iterable[str]) -> PolicySettings:
    """``NAMESPACE=VALUE`` flags (``*=VALUE`` for every namespace) setting one file ``key``."""
    entries: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        namespace, sep, text = pair.partition("=")
        if not sep or not namespace or not text:
            raise ConfigError(f"{option} expects NAMESPACE=VALUE, got {pair!r}")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        entries.setdefault(namespace, {}).update(read_entry({key: value}, f"{option} {namespace}"))
    return PolicySettings(entries)


__all__ = ["ALL", "KEYS", "PolicySettings", "flag_settings", "load_settings"]
