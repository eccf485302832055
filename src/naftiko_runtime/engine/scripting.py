"""Script steps: JavaScript in an embedded QuickJS sandbox.

Why QuickJS (the ``quickjs`` package): a whole JavaScript engine in one small C extension with nothing
of the host in it — no ``std``/``os`` modules, no module loader, no ``require``, ``fetch``, timers or
Java bridge — so a script sees only ECMAScript's built-ins and the ``context`` it is given. Every run
gets a fresh interpreter with a memory limit and a CPU-time limit (QuickJS's interrupt handler checks
the process's CPU clock, so the limit is conservative when other threads are busy) and a bounded stack.
The interpreter releases the GIL while it runs and runs on a small dedicated thread pool, so a
runaway script never blocks the event loop, and a fresh interpreter means nothing leaks between runs.

Python and Groovy steps are refused at load (``spec.files``): neither has a sandbox this runtime could
defend in-process.

The script reads ``context`` (the call's arguments, earlier steps' outputs by step name, and the step's
``with`` values) and must assign ``result``, which becomes the step's output (JSON values only).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..errors import RequestError, SpecFileError
from ..spec import model as m
from ..spec.files import RUNNABLE_LANGUAGES, script_settings, script_source
from ..spec.findings import format_path
from .binding import WithEntry, apply_with, compile_with
from .outcome import Outcome, Scopes

#: what one run may allocate
MEMORY_LIMIT = 64 * 1024 * 1024
#: native stack for one run (deep recursion ends as a RangeError, not a crash)
STACK_LIMIT = 512 * 1024
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="naftiko-script")


class ScriptError(RequestError):
    """A script step failed, ran out of its limits or assigned no ``result``: the capability's fault."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Script step failed"


@dataclass(frozen=True, slots=True)
class Script:
    """One script step, its files read once at load."""

    step: str
    file: str
    sources: tuple[tuple[str, str], ...]  # (file name, code): the dependencies, then the script
    timeout_ms: int

    @classmethod
    def load(cls, step: str, file: Path, dependencies: tuple[Path, ...], timeout_ms: int) -> Script:
        sources = tuple((p.name, p.read_text(encoding="utf-8")) for p in (*dependencies, file))
        return cls(step, file.name, sources, timeout_ms)

    async def run(self, context: dict[str, Any]) -> Any:
        payload = json.dumps(context, default=str)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_POOL, self._run, payload)

    def _run(self, payload: str) -> Any:
        import quickjs

        ctx = quickjs.Context()
        ctx.set_memory_limit(MEMORY_LIMIT)
        ctx.set_max_stack_size(STACK_LIMIT)
        ctx.set_time_limit(self.timeout_ms / 1000)
        current = self.file
        try:
            ctx.set("context", ctx.parse_json(payload))
            for file, code in self.sources:
                current = file
                ctx.eval(code)
            assigned = ctx.eval("typeof result !== 'undefined'")
            out = ctx.eval("JSON.stringify(result) ?? null") if assigned else None
        except Exception as exc:  # quickjs.JSException and StackOverflow: the script's own failure
            raise ScriptError(self._reason(current, exc), step=self.step) from None
        if not assigned:
            what = f"script step '{self.step}' ({self.file})"
            raise ScriptError(f"{what} did not assign result", step=self.step)
        return json.loads(out) if isinstance(out, str) else None

    def _reason(self, name: str, exc: Exception) -> str:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        where = f"script step '{self.step}' ({name})"
        if "interrupted" in first:
            return f"{where} was stopped at its CPU-time limit of {self.timeout_ms} ms"
        if "out of memory" in first:
            return f"{where} was stopped at its memory limit of {MEMORY_LIMIT // (1024 * 1024)} MiB"
        if "stack overflow" in first:
            return f"{where} recursed too deeply"
        return f"{where} failed: {first}"


@dataclass(frozen=True, slots=True)
class ScriptStep:
    """A ``script`` step: reads the arguments, the earlier steps and its ``with``; records ``result``."""

    name: str
    script: Script
    with_: tuple[WithEntry, ...]

    async def run(self, params: dict[str, Any], context: dict[str, Any], scopes: Scopes) -> Outcome | None:
        inputs = {**params, **context, **apply_with(self.with_, params, scopes)}
        context[self.name] = params[self.name] = await self.script.run(inputs)
        return None


def compile_script(step: m.OperationStep, invocable: m.Invocable, upstreams: Any) -> ScriptStep:
    """The ``script`` row of the steps table: the files are read once, here (checked at load already)."""
    document: m.NaftikoDocument = upstreams.document
    settings = script_settings(document.capability)
    source = script_source(document, step, settings)
    where = f"{document.file}: {format_path(step.path)}"
    if source.language not in RUNNABLE_LANGUAGES:
        raise SpecFileError(
            f"{where}: {source.language or 'unnamed'} script steps are not run by this runtime"
        )
    try:
        script = Script.load(step.name, source.file, source.dependencies, settings.timeout_ms)
    except OSError as exc:
        raise SpecFileError(f"{where}: cannot read {exc.filename}") from None
    return ScriptStep(
        step.name, script, compile_with(step.with_, invocable.prefixes, invocable.optional_inputs)
    )
