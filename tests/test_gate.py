"""The upstream gate: a slot per call in flight, a bounded first-come-first-served queue behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from naftiko_runtime.consumes.resilience import BusyError, Gate

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_calls_under_the_limit_enter_without_waiting() -> None:
    async def scenario() -> list[float]:
        gate = Gate("api", 2, 1.0)
        return [await gate.enter(5.0), await gate.enter(5.0)]

    assert run(scenario()) == [0.0, 0.0]


def test_a_freed_slot_goes_to_the_oldest_waiter() -> None:
    async def scenario() -> list[str]:
        gate = Gate("api", 2, 2.0)
        order: list[str] = []
        await gate.enter(5.0)
        await gate.enter(5.0)

        async def call(name: str) -> None:
            await gate.enter(5.0)
            order.append(name)
            gate.leave()

        tasks = [asyncio.create_task(call(n)) for n in ("first", "second")]
        await asyncio.sleep(0.01)
        assert order == []
        gate.leave()
        await asyncio.gather(*tasks)
        gate.leave()
        assert gate.busy == 0
        return order

    assert run(scenario()) == ["first", "second"]


def test_a_wait_longer_than_the_queue_time_is_shed_and_leaves_no_trace() -> None:
    async def scenario() -> None:
        gate = Gate("api", 1, 0.05)
        await gate.enter(5.0)
        with pytest.raises(BusyError, match=r"api: 1 calls are already in flight.*waited 0\.0"):
            await gate.enter(5.0)
        gate.leave()
        assert await gate.enter(5.0) == 0.0  # the shed waiter did not keep a place in the queue

    run(scenario())


def test_a_full_queue_sheds_at_once() -> None:
    async def scenario() -> None:
        gate = Gate("api", 1, 5.0)
        await gate.enter(5.0)
        waiting = asyncio.create_task(gate.enter(5.0))
        await asyncio.sleep(0)
        with pytest.raises(BusyError, match="as many are waiting"):
            await gate.enter(5.0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    run(scenario())


def test_a_caller_cancelled_as_its_slot_came_does_not_lose_the_slot() -> None:
    async def scenario() -> int:
        gate = Gate("api", 2, 5.0)
        await gate.enter(5.0)
        await gate.enter(5.0)
        first = asyncio.create_task(gate.enter(5.0))
        second = asyncio.create_task(gate.enter(5.0))
        await asyncio.sleep(0)
        gate.leave()  # the slot is handed to `first`, cancelled before it runs again
        first.cancel()
        (outcome,) = await asyncio.gather(first, return_exceptions=True)
        if not isinstance(outcome, asyncio.CancelledError):
            gate.leave()  # the cancellation came too late: `first` holds the slot, and frees it
        await asyncio.wait_for(second, 1.0)  # either way the slot reaches `second`
        gate.leave()
        gate.leave()
        return gate.busy

    assert run(scenario()) == 0


def test_the_remaining_budget_caps_the_wait() -> None:
    async def scenario() -> None:
        gate = Gate("api", 1, 5.0)
        await gate.enter(5.0)
        with pytest.raises(BusyError):
            await asyncio.wait_for(gate.enter(0.05), 1.0)

    run(scenario())
