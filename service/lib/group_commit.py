"""Group commit: callers submit items; a few writer tasks write whatever is queued together.

When idle an item is written at once; under load each write takes everything queued
(up to a budget), so many callers share one transaction. A caller's `submit` returns
only after the write that holds its item has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

WriteGroup = Callable[[list[ItemT]], Awaitable[list[ResultT | Exception]]]


class GroupCommitter(Generic[ItemT, ResultT]):
    def __init__(
        self,
        write: WriteGroup[ItemT, ResultT],
        *,
        writers: int,
        budget: int,
        size: Callable[[ItemT], int] = lambda _: 1,
        name: str = "group-commit",
    ) -> None:
        """`write` gets a group and returns one result (or exception) per item, in order;
        if it raises, every item of the group gets that exception."""
        self._write = write
        self._budget = budget
        self._size = size
        self._queue: asyncio.Queue[tuple[ItemT, asyncio.Future[ResultT]]] = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._run(), name=f"{name}-{i}") for i in range(writers)]

    async def submit(self, item: ItemT) -> ResultT:
        return await self.submit_nowait(item)

    def submit_nowait(self, item: ItemT) -> asyncio.Future[ResultT]:
        """Queues `item`; the future is done once its write committed (or failed)."""
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return future

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            used = self._size(group[0][0])
            while used < self._budget and not self._queue.empty():
                entry = self._queue.get_nowait()
                group.append(entry)
                used += self._size(entry[0])
            await self._settle(group)

    async def _settle(self, group: list[tuple[ItemT, asyncio.Future[ResultT]]]) -> None:
        try:
            results = await self._write([item for item, _ in group])
        except Exception as exc:
            results = [exc] * len(group)
        for (_, future), result in zip(group, results, strict=True):
            if future.done():  # the caller went away (cancelled)
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
