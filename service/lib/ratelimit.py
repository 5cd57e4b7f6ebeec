"""Per-key request rate limits shared by every API process: fixed one-second windows whose
counters live in Redis (the `limits` library's storage).

A Redis round trip per request would cost more than the rest of an ingest request, so each
process counts locally and adds its counts to Redis every `sync_s` (one INCRBY per active
key), reading the shared total back. A request is refused once the window's known total
(shared total + hits not yet added) reaches the limit. One process alone never goes over;
with several, the overshoot is at most what the others accepted within one sync interval.
If Redis is unreachable each process keeps enforcing the limit on its own counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits.aio.storage import RedisStorage

from service.errors import RateLimited

logger = logging.getLogger("herald.ratelimit")

WINDOW_EXPIRY_S = 2  # a window's counter outlives its second, then Redis drops it


@dataclass
class _Window:
    second: int
    shared: int = 0  # the total in Redis when this process last added to it
    pending: int = 0  # hits accepted here and not yet added to Redis


class RequestRateLimiter:
    def __init__(
        self,
        redis_url: str,
        per_second: int,
        *,
        sync_s: float = 0.01,
        clock: Callable[[], float] = time.time,
    ) -> None:
        storage_url = redis_url.replace("redis://", "async+redis://", 1).replace(
            "rediss://", "async+rediss://", 1
        )
        self._storage = RedisStorage(storage_url, implementation="redispy")
        self.per_second = per_second
        self._sync_s = sync_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._sync_task: asyncio.Task[None] | None = None

    def check(self, identity: str, message: str | None = None) -> None:
        """Counts one request for `identity`; raises RateLimited (429) past the limit."""
        window = self._window(identity)
        if window.shared + window.pending >= self.per_second:
            raise RateLimited(
                message or f"More than {self.per_second} requests per second for this key",
                retry_after_s=1,
            )
        window.pending += 1
        self._schedule_sync()

    def full(self, identity: str) -> bool:
        """Whether `identity` used up this second's budget (counts nothing)."""
        window = self._window(identity)
        return window.shared + window.pending >= self.per_second

    def _window(self, identity: str) -> _Window:
        second = int(self._clock())
        window = self._windows.get(identity)
        if window is None or window.second != second:
            if window is not None and window.pending:
                self._schedule_sync()  # the old second's hits still go to Redis
                self._windows[f"{identity}@{window.second}"] = window
            window = self._windows[identity] = _Window(second)
        return window

    async def sync(self) -> None:
        """Adds every pending count to Redis and reads the shared totals back."""
        now = int(self._clock())
        for name, window in list(self._windows.items()):
            if window.second < now - 1 and not window.pending:
                self._windows.pop(name, None)
        current = [(n, w) for n, w in self._windows.items() if w.pending or w.second == now]
        await asyncio.gather(*(self._add(name, window) for name, window in current))

    async def close(self) -> None:
        if self._sync_task is not None:
            await self._sync_task

    def _schedule_sync(self) -> None:
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = asyncio.create_task(self._sync_soon())

    async def _sync_soon(self) -> None:
        await asyncio.sleep(self._sync_s)
        try:
            await self.sync()
        except Exception as exc:  # Redis down: this process keeps limiting on its own counts
            logger.warning("rate limit counters not shared: %r", exc)

    async def _add(self, name: str, window: _Window) -> None:
        identity = name.partition("@")[0]
        amount = window.pending
        window.pending -= amount
        try:
            total = await self._storage.incr(
                f"herald/rate/{identity}/{window.second}", WINDOW_EXPIRY_S, amount=amount
            )
            # A window's total only grows; an older answer arriving late must not lower it.
            window.shared = max(window.shared, total)
        except BaseException:
            if name == identity:
                window.pending += amount  # retried with the next sync
            raise
        finally:
            if name != identity:  # a past second: added (or given up) once
                self._windows.pop(name, None)
