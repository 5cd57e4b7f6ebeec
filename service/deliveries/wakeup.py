"""Waking listener drains: the one protocol between the API (and anything else that makes
work due) and the workers. Postgres owns the work; Redis only says where to look, and the
sweeper re-wakes every listener with due work each second, so a lost wake-up costs
latency, never a delivery.

After a commit, `Waker.wake` does four things per listener, in one Redis round trip for
all the wake-ups of one event-loop turn (a group commit's callers all resume in one):
- sets the `dirty` flag (work came);
- sets the `queued` marker unless it is set (NX, QUEUED_TTL_MS), so that a burst of
  requests queues one drain job, not one each;
- publishes the listener's id (a hint to a drain already running, for latency);
- enqueues the arq job `drain_listener` when the marker was new.

A drain (workers/drain.py) runs inside `drain_turn`: it holds the listener's lock (at
most one drain per listener, renewed while held, lapsing within LOCK_TTL_S if its worker
dies), clears `queued` and `dirty` when it starts, and clears `queued` again when it ends,
so a wake-up after that queues a new drain. While it runs it takes a pub/sub signal
(`Watch`) as news of work, and reads the `dirty` flag now and then for signals pub/sub
lost. A wake-up that came while it was leaving finds the lock held: the drain checks
`dirty` once it has let go and wakes the listener again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field

from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from service.lib.pubsub import Subscription

logger = logging.getLogger("herald.wakeup")

DRAIN_JOB = "drain_listener"
DIRTY_TTL_S = 60
QUEUED_TTL_MS = 2000
LOCK_TTL_S = 10.0
RENEW_EVERY_S = LOCK_TTL_S / 3


def dirty_key(listener_id: uuid.UUID | str) -> str:
    return f"herald:dirty:{listener_id}"


def wake_channel(arq_queue_name: str) -> str:
    """Where woken listener ids are published, for drains already running (a latency hint)."""
    return f"herald:wake:{arq_queue_name}"


def queued_key(listener_id: uuid.UUID | str) -> str:
    return f"herald:queued:{listener_id}"


def lock_key(listener_id: uuid.UUID) -> str:
    return f"herald:draining:{listener_id}"


def drain_job_id(listener_id: uuid.UUID) -> str:
    """A drain job's arq id names its listener, so that a worker can tell whose drain a
    queued job is before it takes a slot (workers/fair_share.py); the suffix keeps each
    job's id unique."""
    return f"drain:{listener_id}:{uuid.uuid4().hex}"


def listener_of_job(job_id: str) -> uuid.UUID | None:
    _, _, rest = job_id.partition("drain:")
    try:
        return uuid.UUID(rest.partition(":")[0])
    except ValueError:
        return None


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

    async def wake_later(self, listener_id: uuid.UUID, delay_s: float) -> None:
        """Queues the listener's next drain `delay_s` from now (a drain that gave its slot
        back); wake-ups until then only mark it dirty for that drain."""
        if delay_s <= 0:
            await self.wake_now([listener_id], force=True)
            return
        try:
            await self.redis.set(
                queued_key(listener_id), b"1", px=int(delay_s * 1000) + QUEUED_TTL_MS
            )
            await self.redis.enqueue_job(
                DRAIN_JOB,
                str(listener_id),
                _queue_name=self.queue_name,
                _job_id=drain_job_id(listener_id),
                _defer_by=delay_s,
            )
        except Exception as exc:  # Redis down: the sweeper will find the work in Postgres.
            logger.warning("could not queue a drain for later: %r", exc)

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
                    self.redis.enqueue_job(
                        DRAIN_JOB, str(lid), _queue_name=self.queue_name, _job_id=drain_job_id(lid)
                    )
                    for lid in newly_queued
                )
            )
        except Exception as exc:  # Redis down: the sweeper will find the work in Postgres.
            logger.warning("could not wake %d listener(s): %r", len(listener_ids), exc)

    async def close(self) -> None:
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)


@contextlib.asynccontextmanager
async def drain_turn(redis: Redis, listener_id: uuid.UUID) -> AsyncIterator[bool]:
    """Yields True when this drain holds the listener (the lock, renewed while held, with
    the listener's markers cleared), False when another drain does."""
    lock = Lock(redis, lock_key(listener_id), timeout=LOCK_TTL_S, blocking=False)
    if not await lock.acquire():
        yield False
        return
    renewer = asyncio.create_task(_renew(lock))
    try:
        await redis.delete(queued_key(listener_id), dirty_key(listener_id))
        yield True
        # From here on a wake-up must queue a new drain rather than count on this one.
        await redis.delete(queued_key(listener_id))
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await renewer
        with contextlib.suppress(LockError, Exception):
            await asyncio.shield(lock.release())


async def _renew(lock: Lock) -> None:
    while True:
        await asyncio.sleep(RENEW_EVERY_S)
        await lock.reacquire()


async def take_dirty(redis: Redis, listener_id: uuid.UUID) -> bool:
    """Whether work came since the flag was last taken (and takes it)."""
    return bool(await redis.getdel(dirty_key(listener_id)))


async def woken_since(redis: Redis, listener_id: uuid.UUID) -> bool:
    """Whether work came since the drain's turn began (the flag is left for the next)."""
    return bool(await redis.exists(dirty_key(listener_id)))


@dataclass(eq=False)
class Watch:
    """`event` is set by every signal, and by the drain itself when it has made progress;
    `signalled` says a signal came since the drain last took it."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    signalled: bool = False

    def take_signal(self) -> bool:
        signalled, self.signalled = self.signalled, False
        return signalled


class WakeSignals:
    """A worker's subscription to the wake-up channel: marks the Watch of each woken
    listener draining here."""

    def __init__(self, redis: Redis, arq_queue_name: str) -> None:
        self._watches: dict[uuid.UUID, Watch] = {}
        self._subscription = Subscription(redis, wake_channel(arq_queue_name), self._signal)

    @contextlib.contextmanager
    def watch(self, listener_id: uuid.UUID) -> Iterator[Watch]:
        """Marked whenever `listener_id` is woken, while the block runs."""
        watch = self._watches[listener_id] = Watch()
        try:
            yield watch
        finally:
            if self._watches.get(listener_id) is watch:
                del self._watches[listener_id]

    async def close(self) -> None:
        await self._subscription.close()

    def _signal(self, data: bytes) -> None:
        for raw in data.split(b","):
            with contextlib.suppress(ValueError):
                watch = self._watches.get(uuid.UUID(raw.decode()))
                if watch is not None:
                    watch.signalled = True
                    watch.event.set()
