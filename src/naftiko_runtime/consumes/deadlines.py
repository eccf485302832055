"""The time budget of upstream calls, kept with one timer per consumed API instead of one per call.

aiohttp keeps a ``total`` timeout by arming and cancelling an event-loop timer around every request;
on a proxied call that is about a tenth of the server's CPU. Every first attempt of a call has the
same budget (the policy's ``total``), so their deadlines expire in the order the calls began: a queue
in start order, and one timer armed for the oldest call still running, cost a list append and a flag
per call. When the timer fires it skips the calls that have ended, cancels those out of time (the way
aiohttp's own timeout does: the task is cancelled, and the cancellation becomes a timeout where the
call is awaited) and re-arms for the next one. The deadline is exact, not rounded.

Attempts with a shorter budget (retries, a caller's deadline) and streamed bodies keep aiohttp's
per-request timeout: their deadlines would break the queue's order, and they are rare.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Watch:
    """One call under watch: :meth:`Deadlines.watch` gives it, :meth:`end` must follow (``finally``)."""

    __slots__ = ("task", "deadline", "ended", "expired", "_cancelling")

    def __init__(self, task: asyncio.Task[object], deadline: float) -> None:
        self.task = task
        self.deadline = deadline
        self.ended = False
        #: the timer cancelled the call: the cancellation it raised is a timeout
        self.expired = False
        self._cancelling = task.cancelling()

    def timed_out(self) -> bool:
        """After a ``CancelledError``: whether it was this watch's (then taken back from the task, as
        ``asyncio.timeout`` does), rather than the task's own cancellation (shutdown, a caller gone)."""
        return self.expired and self.task.uncancel() <= self._cancelling


class Deadlines:
    """The running first attempts of one consumed API, oldest first, and the timer of the oldest."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self._running: deque[Watch] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self) -> Watch | None:
        """Watch the current task for ``budget`` seconds from now (None outside a task)."""
        task = asyncio.current_task()
        if task is None:
            return None
        loop = task.get_loop()
        watch = Watch(task, loop.time() + self.budget)
        self._running.append(watch)
        if self._timer is None:
            self._timer = loop.call_at(watch.deadline, self._expire, loop)
        return watch

    def end(self, watch: Watch) -> None:
        """The call ended (answered, failed or cancelled); the oldest ended calls leave the queue."""
        watch.ended = True
        running = self._running
        while running and running[0].ended:
            running.popleft()

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        running = self._running
        while running and (running[0].ended or running[0].deadline <= now):
            watch = running.popleft()
            if not watch.ended:
                watch.expired = True
                watch.task.cancel()
        if running:
            self._timer = loop.call_at(running[0].deadline, self._expire, loop)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._running.clear()

    def __len__(self) -> int:
        return len(self._running)


__all__ = ["Deadlines", "Watch"]
