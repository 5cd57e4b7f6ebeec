"""The worker's periodic jobs (sweeper, liveness probes, retention), run beside the drains
rather than as arq jobs: drains hold arq's job slots, and the sweeper (which recovers what
Redis lost and re-wakes due work) must never wait for one.

Every worker process runs the schedule; each tick runs in one of them, the one that sets
the tick's Redis key first.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis

log = structlog.get_logger("herald.cron")

TICK_KEY_TTL_S = 3600


@dataclass(frozen=True, slots=True)
class Cron:
    name: str
    run: Callable[[], Awaitable[object]]
    every_s: float
    timeout_s: float
    offset_s: float = 0.0  # ticks fall at offset_s past each multiple of every_s
    at_startup: bool = False


class CronRunner:
    def __init__(self, redis: Redis, namespace: str, crons: list[Cron]) -> None:
        self.redis = redis
        self.namespace = namespace
        self.crons = crons
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._schedule(cron)) for cron in self.crons]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _schedule(self, cron: Cron) -> None:
        if cron.at_startup:
            await self._run(cron)
        while True:
            tick = math.floor((time.time() - cron.offset_s) / cron.every_s) + 1
            await asyncio.sleep(max(0.0, tick * cron.every_s + cron.offset_s - time.time()))
            with contextlib.suppress(Exception):  # Redis down: the next tick tries again
                key = f"herald:cron:{self.namespace}:{cron.name}:{tick}"
                if not await self.redis.set(key, b"1", nx=True, ex=TICK_KEY_TTL_S):
                    continue  # another worker has this tick
                await self._run(cron)

    async def _run(self, cron: Cron) -> None:
        try:
            async with asyncio.timeout(cron.timeout_s):
                await cron.run()
        except TimeoutError:
            log.warning("cron job timed out", cron=cron.name, timeout_s=cron.timeout_s)
        except Exception:
            log.error("cron job failed", cron=cron.name, exc_info=True)
