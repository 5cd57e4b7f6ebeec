"""What keeps counts in memory and writes them every `every_s` seconds and once more on
close (the shared metrics, the event type catalog): the loop, in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger("herald.flush")


class PeriodicFlush:
    every_s = 1.0
    what = "counts"  # for the warning when a flush fails

    _task: asyncio.Task[None] | None = None

    async def flush(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"flush {self.what}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.flush()
            except Exception as exc:  # the server is away: the next flush tries again
                logger.warning("%s not written: %r", self.what, exc)
