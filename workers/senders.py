"""A drain's senders: the tasks that take its claimed deliveries to the sink.

Webhooks go one delivery at a time, from long-lived tasks (one per slot in use) that park
between claims: a task per delivery cost about 5 % of the worker's CPU. A sink that
batches gets a whole claim in one task.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Awaitable, Callable

from workers.claims import ClaimedDelivery
from workers.sinks import Sink

Sending = asyncio.Task[None]
Deliver = Callable[[Sink, list[ClaimedDelivery]], Awaitable[None]]


class Senders:
    def __init__(self, deliver: Deliver) -> None:
        """`deliver(sink, group)` sends a group and takes care of its outcomes."""
        self._deliver = deliver
        self._in_flight: dict[Sending, list[ClaimedDelivery]] = {}
        self._waiting: deque[ClaimedDelivery] = deque()  # claimed, not picked up yet
        self._tasks: set[Sending] = set()
        self._parked: list[asyncio.Future[None]] = []
        self._stopped = False

    def start(self, sink: Sink, claimed: list[ClaimedDelivery], *, together: bool) -> None:
        """Sends `claimed`: as one group when `together`, else each on its own."""
        if together:
            task = asyncio.create_task(self._send_together(sink, claimed))
            self._in_flight[task] = claimed
            return
        self._waiting.extend(claimed)
        unparked = min(len(claimed), len(self._parked))
        for _ in range(unparked):
            self._parked.pop().set_result(None)
        for _ in range(len(claimed) - unparked):
            task = asyncio.create_task(self._send_each(sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        """Parked senders end; busy ones end after their delivery."""
        self._stopped = True
        parked, self._parked = self._parked, []
        for future in parked:
            future.set_result(None)

    def cancel(self) -> list[uuid.UUID]:
        """Stops every send at once; returns the deliveries that were not sent."""
        unsent = [d.id for group in self._in_flight.values() for d in group]
        unsent += [d.id for d in self._waiting]
        self._waiting.clear()
        for task in list(self._in_flight):
            task.cancel()
        self.stop()
        return unsent

    async def _send_each(self, sink: Sink) -> None:
        """Sends waiting deliveries one at a time; parks when none is waiting, until the
        next claim or the end of the drain."""
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        while not self._stopped:
            while self._waiting:
                delivery = self._waiting.popleft()
                group = self._in_flight[task] = [delivery]
                try:
                    await self._deliver(sink, group)
                finally:
                    del self._in_flight[task]
            parked = loop.create_future()
            self._parked.append(parked)
            await parked

    async def _send_together(self, sink: Sink, group: list[ClaimedDelivery]) -> None:
        try:
            await self._deliver(sink, group)
        finally:
            self._in_flight.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
