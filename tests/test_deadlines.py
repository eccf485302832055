"""The total budget of upstream calls, kept by one timer per consumed API (``consumes/deadlines.py``).

Calls go over real HTTP to the echo upstream, which waits ``X-Echo-Delay`` seconds before answering.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.engine import Invocation, Runtime
from naftiko_runtime.errors import UpstreamTimeoutError
from naftiko_runtime.spec.loader import load_text
from naftiko_runtime.spec.model import Invocable

from .test_consumes_http import FAILING, capability

BUDGET = 0.4


def runtime(echo: str) -> Runtime:
    doc = load_text(capability(FAILING), "cap.yaml").require()
    return Runtime(doc, upstreams={"api": echo}, timeouts=Timeouts(connect=1, total=BUDGET))


async def timed(inv: Invocation, delay: float) -> tuple[str, float]:
    """What a call with the upstream waiting ``delay`` seconds ended in, and after how long."""
    started = time.monotonic()
    try:
        await inv.run({"kind": "a", "X-Echo-Delay": str(delay)})
        result = "answered"
    except UpstreamTimeoutError as exc:
        assert f"did not answer within {BUDGET:g} s" in exc.detail and exc.http_status == 504
        result = "timed out"
    return result, time.monotonic() - started


def test_each_call_times_out_at_its_own_deadline_while_quick_ones_answer(echo: str) -> None:
    async def go() -> None:
        async with runtime(echo) as rt:
            inv = rt.invocation("t", Invocable(call="api.op"))
            early = asyncio.create_task(timed(inv, 2))
            await asyncio.sleep(0.15)
            # a slow call that began later expires later: the timer moves on to it
            late = asyncio.create_task(timed(inv, 2))
            quick = [asyncio.create_task(timed(inv, 0.05)) for _ in range(20)]
            done = await asyncio.gather(early, late, *quick)
            (first, first_took), (second, second_took) = done[0], done[1]
            assert first == second == "timed out"
            assert BUDGET <= first_took < BUDGET + 0.25
            assert BUDGET <= second_took < BUDGET + 0.25
            assert all(result == "answered" for result, _ in done[2:])
            pool = rt.consumers["api"]._pool
            assert pool is not None and len(pool.deadlines) == 0  # every ended call left the watch

    asyncio.run(go())


def test_a_cancelled_caller_stays_cancelled_and_is_not_reported_as_a_timeout(echo: str) -> None:
    async def go() -> None:
        async with runtime(echo) as rt:
            inv = rt.invocation("t", Invocable(call="api.op"))
            task = asyncio.create_task(inv.run({"kind": "a", "X-Echo-Delay": "2"}))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(BUDGET)  # the timer fires for a call that is no longer there
            assert await timed(inv, 0) == ("answered", pytest.approx(0, abs=0.3))

    asyncio.run(go())


def test_a_call_that_answers_just_in_time_is_not_cancelled_afterwards(echo: str) -> None:
    async def go() -> None:
        async with runtime(echo) as rt:
            inv = rt.invocation("t", Invocable(call="api.op"))
            result, _ = await timed(inv, BUDGET - 0.2)
            assert result == "answered"
            # the same task goes on past the first call's deadline without being cancelled
            await asyncio.sleep(0.4)
            assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]

    asyncio.run(go())
