"""The arq Worker, kept alive through Redis outages.

arq's poll loop lets a Redis connection error escape, which ends the worker process: a
Redis restart would take every worker down with it. Here a failed poll iteration is
logged and retried after a pause; drains that failed meanwhile gave their deliveries back,
and the sweeper re-wakes listeners with due work once Redis answers again.
"""

from __future__ import annotations

import asyncio

import structlog
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

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
        await super().start_jobs([job for job in job_ids if job.decode() not in running])

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
