"""One total deadline per attempt, kept by one timer for all attempts under way.

`asyncio.timeout` costs a timer-heap entry per attempt (a Python-level comparison per heap
step, and a cancelled entry left behind for nearly every attempt, since nearly every one
finishes in time): about 3 % of the worker's CPU at full delivery rate. Attempts with the
same timeout end their deadlines in the order they started, so a queue per timeout and a
check every TICK_S find the expired ones. The cancellation is the same as asyncio.timeout's:
the attempt's task is cancelled, and the watched block turns that cancellation into
`expired` unless someone else cancelled the task too.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

TICK_S = 0.02  # how late past its deadline an attempt may end


class Deadline:
    __slots__ = ("at", "cancelling", "expired", "task")

    def __init__(self, at: float, task: asyncio.Task[object]) -> None:
        self.at = at
        self.task: asyncio.Task[object] | None = task  # None once the block is left
        self.cancelling = task.cancelling()
        self.expired = False

    def __enter__(self) -> Deadline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        task, self.task = self.task, None
        if not self.expired or task is None:
            return False
        # Ours was the cancellation, and no one else's came on top of it: the block ends
        # quietly (the caller reads `expired`).
        others = task.uncancel() > self.cancelling
        return exc_type is asyncio.CancelledError and not others


class Deadlines:
    def __init__(self) -> None:
        self._queues: dict[float, deque[Deadline]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def within(self, seconds: float) -> Deadline:
        """`with deadlines.within(s) as deadline:` cancels the block after `s` seconds;
        afterwards `deadline.expired` says whether it ran out."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        task = asyncio.current_task()
        assert task is not None
        deadline = Deadline(now + seconds, task)
        self._queues.setdefault(seconds, deque()).append(deadline)
        if self._timer is None:
            self._timer = loop.call_at(now + TICK_S, self._expire)
        return deadline

    def _expire(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for seconds, queue in list(self._queues.items()):
            while queue and (queue[0].task is None or queue[0].at <= now):
                deadline = queue.popleft()
                if deadline.task is not None:
                    deadline.expired = True
                    deadline.task.cancel()
            if not queue:
                del self._queues[seconds]
        self._timer = loop.call_at(now + TICK_S, self._expire) if self._queues else None
