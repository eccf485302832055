"""The runtime core shared by every exposer: a :class:`Runtime` owns a capability's consumers and compiles
each invocable (exposed operation, tool, resource, aggregate function) into an :class:`Invocation`.

``binding`` binds ``with``; ``steps`` holds the step table; ``responses`` reads upstream responses.
"""

from __future__ import annotations

from ..consumes.http import Timeouts
from ..errors import MappingError, RequestError
from .binding import WithEntry, apply_with, compile_with, find_input
from .invocation import Invocation
from .outcome import Outcome, Scopes
from .runtime import Runtime
from .steps import STEPS, check_steps

__all__ = [
    "STEPS",
    "Invocation",
    "MappingError",
    "Outcome",
    "RequestError",
    "Runtime",
    "Scopes",
    "Timeouts",
    "WithEntry",
    "apply_with",
    "check_steps",
    "compile_with",
    "find_input",
]
