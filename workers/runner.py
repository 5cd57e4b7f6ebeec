"""The arq Worker, kept alive through Redis outages.

arq's poll loop lets a Redis connection error escape, which ends the worker process: a
Redis restart would take every worker down with it. Here a failed poll iteration is
logged and retried after a pause; drains that failed meanwhile gave their deliveries back,
and the sweeper re-wakes listeners with due work once Redis answers again.
"""

from __future__ import annotations

import asyncio

import structlog
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from workers.fair_share import OVER_CAP_DELAY_MS

REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, WatchError, OSError)
RETRY_PAUSE_S = 0.5

log = structlog.get_logger("herald.worker")


class HeraldWorker(Worker):
    _redis_down = False

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # A running job stays in arq's queue until it ends, so every poll would find each
        # running drain again and spend a WATCH/EXISTS/ZSCORE round trip to learn that it
        # runs (about 5 % of the worker's CPU during a drain). Those running here are known.
        running = self.job_tasks
        queued = [job for job in job_ids if job.decode() not in running]
        herald = self.ctx.get("herald")
        if herald is not None and queued:
            queued, later = await herald.fair_share.split(queued, list(running))
            if later:
                due = timestamp_ms() + OVER_CAP_DELAY_MS
                await self.pool.zadd(self.queue_name, dict.fromkeys(later, due), xx=True)
        await super().start_jobs(queued)

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_ERRORS as exc:
            if not self._redis_down:
                log.warning("redis unavailable; the worker keeps retrying", error=repr(exc))
            self._redis_down = True
            await asyncio.sleep(RETRY_PAUSE_S)
            return
        if self._redis_down:
            log.info("redis available again")
            self._redis_down = False
