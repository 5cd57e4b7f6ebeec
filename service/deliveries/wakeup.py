"""Waking listener drains after a commit: a dirty flag and a deduplicated arq job per listener.

Redis only wakes workers; if a wake-up is lost the sweeper finds the work in Postgres.
Wake-ups are coalesced for a millisecond so a burst of requests costs one enqueue per
listener, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable

from arq.connections import ArqRedis

logger = logging.getLogger("herald.wakeup")

DRAIN_JOB = "drain_listener"
DIRTY_TTL_S = 60
COALESCE_S = 0.001


def drain_job_id(listener_id: uuid.UUID | str) -> str:
    return f"drain:{listener_id}"


def dirty_key(listener_id: uuid.UUID | str) -> str:
    return f"herald:dirty:{listener_id}"


class Waker:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name
        self._pending: set[uuid.UUID] = set()
        self._flushing: asyncio.Task[None] | None = None

    def wake(self, listener_ids: Iterable[uuid.UUID]) -> None:
        """Schedules a drain for each listener; never raises, never blocks."""
        self._pending.update(listener_ids)
        if self._pending and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.create_task(self._flush())

    async def wake_now(self, listener_ids: Iterable[uuid.UUID]) -> None:
        await self._enqueue(set(listener_ids))

    async def _flush(self) -> None:
        await asyncio.sleep(COALESCE_S)
        while self._pending:
            batch, self._pending = self._pending, set()
            await self._enqueue(batch)

    async def _enqueue(self, listener_ids: set[uuid.UUID]) -> None:
        if not listener_ids:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for listener_id in listener_ids:
                    pipe.set(dirty_key(listener_id), b"1", ex=DIRTY_TTL_S)
                await pipe.execute()
            await asyncio.gather(
                *(
                    self.redis.enqueue_job(
                        DRAIN_JOB,
                        str(listener_id),
                        _job_id=drain_job_id(listener_id),
                        _queue_name=self.queue_name,
                    )
                    for listener_id in listener_ids
                )
            )
        except Exception as exc:  # Redis down: the sweeper will find the work in Postgres.
            logger.warning("could not wake %d listener(s): %r", len(listener_ids), exc)

    async def close(self) -> None:
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
