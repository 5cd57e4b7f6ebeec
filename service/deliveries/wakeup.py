"""Waking listener drains after a commit: a dirty flag, and an arq job unless one was queued
in the last moments.

Redis only wakes workers; if a wake-up is lost the sweeper finds the work in Postgres.
Wake-ups made in the same turn of the event loop are sent together (the requests a group
commit answers all resume in one turn), and a `queued` marker keeps a burst of requests
from queueing more than one drain job per listener. A drain that is already running sees
the dirty flag; the drain lock (see workers/drain_lock.py) keeps a second one from starting.
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
QUEUED_TTL_MS = 2000


def dirty_key(listener_id: uuid.UUID | str) -> str:
    return f"herald:dirty:{listener_id}"


def wake_channel(arq_queue_name: str) -> str:
    """Where woken listener ids are published, for drains already running (a latency hint)."""
    return f"herald:wake:{arq_queue_name}"


def queued_key(listener_id: uuid.UUID | str) -> str:
    return f"herald:queued:{listener_id}"


class Waker:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name
        self.channel = wake_channel(queue_name)
        self._pending: set[uuid.UUID] = set()
        self._flushing: asyncio.Task[None] | None = None

    def wake(self, listener_ids: Iterable[uuid.UUID]) -> None:
        """Schedules a drain for each listener; never raises, never blocks."""
        self._pending.update(listener_ids)
        if self._pending and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.create_task(self._flush())

    async def wake_now(self, listener_ids: Iterable[uuid.UUID], *, force: bool = False) -> None:
        """Queues the drains now; `force` queues them even if one was queued moments ago."""
        await self._enqueue(set(listener_ids), force=force)

    async def _flush(self) -> None:
        # One turn, not a timer: a 1 ms sleep put 1-2 ms (a timer's resolution) on every
        # message's way to its listener, and a group commit's callers all wake in one turn.
        await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = self._pending, set()
            await self._enqueue(batch)

    async def _enqueue(self, listener_ids: set[uuid.UUID], *, force: bool = False) -> None:
        if not listener_ids:
            return
        ordered = list(listener_ids)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for listener_id in ordered:
                    pipe.set(dirty_key(listener_id), b"1", ex=DIRTY_TTL_S)
                    pipe.set(queued_key(listener_id), b"1", px=QUEUED_TTL_MS, nx=not force)
                pipe.publish(self.channel, ",".join(str(lid) for lid in ordered))
                results = await pipe.execute()
            queued = results[1 : 2 * len(ordered) : 2]
            newly_queued = [lid for lid, fresh in zip(ordered, queued, strict=True) if fresh]
            await asyncio.gather(
                *(
                    self.redis.enqueue_job(DRAIN_JOB, str(lid), _queue_name=self.queue_name)
                    for lid in newly_queued
                )
            )
        except Exception as exc:  # Redis down: the sweeper will find the work in Postgres.
            logger.warning("could not wake %d listener(s): %r", len(listener_ids), exc)

    async def close(self) -> None:
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
