"""Draining one listener: claim due deliveries, send them (up to max_in_flight at once),
record each outcome, until nothing is due.

At most one drain per listener runs at a time (its turn, in the wake-up protocol of
service/deliveries/wakeup.py). The drain stops claiming once the listener is paused,
disabled, deleted or unreachable (seen within LISTENER_MAX_AGE_S), as soon as its circuit
opens, or when the worker shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable

import structlog

from service.deliveries.wakeup import Watch, drain_turn, take_dirty, woken_since
from workers.claims import ClaimedDelivery, claim_due, claim_oldest, release
from workers.context import WorkerContext
from workers.listeners import ListenerConfig, load_listener
from workers.pacing import TokenBucket, lease_s
from workers.pending_records import PendingRecords
from workers.senders import Senders
from workers.sinks import Sink, internal_error
from workers.slots import Slots

log = structlog.get_logger("herald.drain")

IDLE_POLL_S = 0.05
LINGER_S = 2.0
# A running drain takes a wake-up signal as news of work. The dirty flag (a Redis round trip,
# for signals pub/sub may lose) is read this often: on every wake-up it cost 14 us/delivery.
LINGER_POLL_S = 0.5
# A drain reads its listener again when its copy is this old: a pause, an edit or a new
# secret applies within it, even to a drain that never runs out of work. Not on every
# wake-up: that cost each wave of new messages a round trip before its claim.
LISTENER_MAX_AGE_S = 1.0


class Drain:
    def __init__(self, ctx: WorkerContext, listener_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.listener_id = listener_id
        self.slots = Slots()
        self.senders = Senders(self._deliver)
        self.records = PendingRecords(
            ctx, on_recorded=self._recorded_group, on_listener_changed=self._listener_changed
        )
        self.listener: ListenerConfig | None = None
        self.bucket: TokenBucket | None = None
        self.loaded_at = 0.0  # event loop time of the listener's last load
        self.dirty_read_at = 0.0  # event loop time the dirty flag was last read
        self.sent = 0
        self._reload = True
        # Its event is set when the listener is woken and when a send or a record finishes:
        # the loop waits on this one event rather than on every task it has under way.
        self.watch = Watch()  # the worker's own (see WakeSignals) while the drain runs

    async def run(self) -> int:
        """Returns how many attempts it made (0 when another drain holds the listener)."""
        redis = self.ctx.redis
        structlog.contextvars.bind_contextvars(listener_id=str(self.listener_id))
        async with drain_turn(redis, self.listener_id) as held:
            if not held:
                return 0
            try:
                with self.ctx.wake_signals.watch(self.listener_id) as self.watch:
                    await self._loop()
                    self.senders.stop()
                    await self.records.committed()
            except BaseException:  # cancelled, or Redis/Postgres gone mid-drain
                await self._give_back()
                raise
        # A wake-up that came while we were leaving found the lock held: honour it now.
        if await woken_since(redis, self.listener_id) and not self.ctx.stopping.is_set():
            await self.ctx.waker.wake_now([self.listener_id], force=True)
        return self.sent

    async def _loop(self) -> None:
        more = True  # due work may be waiting
        while True:
            if self._reload or self._listener_age() > LISTENER_MAX_AGE_S:
                self.listener = await self._load()
                self._reload = False
            can_claim = self._can_claim()
            if can_claim and not more:
                more = await self._heard_of_work()
            if can_claim and more and self._may_claim():
                wanted = min(self._free_slots(), self._claim_size())
                claimed = await self._claim(wanted)
                more = len(claimed) == wanted  # a short claim means the queue is drained
                self._start(claimed)
                if more and self._may_claim():
                    continue  # claim the next part before waiting on any send
            if self.slots.idle:
                if can_claim and (more or await self._heard_of_work()):
                    more = True
                    continue
                if not can_claim or not await self._linger():
                    return
                more = True
                continue
            await self._wait_for_progress()

    async def _linger(self) -> bool:
        """Idle: waits up to LINGER_S for new work, so that a steady trickle of messages
        does not pay for a new drain job each. True when work came."""
        deadline = asyncio.get_running_loop().time() + LINGER_S
        while not self.ctx.stopping.is_set():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            await self._wait_for(self.ctx.stopping.wait(), seconds=min(remaining, LINGER_POLL_S))
            if await self._heard_of_work():
                return True
        return False

    async def _wait_for_progress(self) -> None:
        """Until enough slots are free to claim, everything is recorded, new work is
        signalled, or IDLE_POLL_S passes. Each send records its own outcome (in the
        background), so its slot is free before the commit."""
        if not self.woken.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IDLE_POLL_S):
                    await self.woken.wait()
        self.woken.clear()  # a signal that came stays marked in self.watch

    def _wake_when_ready(self) -> None:
        """Wakes the loop only when it has something to do: a claim's worth of free slots,
        or nothing left under way (one wake-up per claim rather than per delivery)."""
        if self.woken.is_set():
            return
        if self.slots.idle or (self.listener is not None and self._may_claim()):
            self.woken.set()

    @property
    def woken(self) -> asyncio.Event:
        return self.watch.event

    def _claims_wait_for_records(self) -> bool:
        """Ordered and half-open listeners claim again only once their outcome is recorded."""
        return self.listener is None or self.listener.ordered or self.listener.half_open

    def _recorded_group(self, count: int) -> None:
        self.slots.unrecorded -= count
        self._wake_when_ready()

    def _listener_changed(self) -> None:
        self._reload = True

    async def _wait_for(self, *waits: Awaitable[object], seconds: float) -> None:
        """Until one of `waits` is done, this listener is woken, or `seconds` pass."""
        created: list[asyncio.Future[object]] = [asyncio.ensure_future(self.woken.wait())]
        tasks: set[asyncio.Future[object]] = set(created)
        for wait in waits:
            future = asyncio.ensure_future(wait)
            if future is not wait:
                created.append(future)
            tasks.add(future)
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for own in created:
            own.cancel()
        self.woken.clear()  # a signal that came stays marked in self.watch

    def _can_claim(self) -> bool:
        listener = self.listener
        return listener is not None and listener.deliverable and not self.ctx.stopping.is_set()

    def _listener_age(self) -> float:
        return asyncio.get_running_loop().time() - self.loaded_at

    async def _load(self) -> ListenerConfig | None:
        self.loaded_at = asyncio.get_running_loop().time()
        listener = await load_listener(
            self.ctx.pool,
            self.listener_id,
            self.ctx.secret_box,
            list(self.ctx.settings.retry_schedule_s),
        )
        if listener is not None and listener.rate_limit_per_s:
            if self.bucket is None or self.bucket.rate != listener.rate_limit_per_s:
                self.bucket = TokenBucket(listener.rate_limit_per_s)
        else:
            self.bucket = None
        return listener

    def _free_slots(self) -> int:
        assert self.listener is not None
        return self.slots.free(self.listener)

    def _may_claim(self) -> bool:
        assert self.listener is not None
        return self.slots.can_claim(self.listener)

    def _claim_size(self) -> int:
        assert self.listener is not None
        batches = self.ctx.sinks[self.listener.type].batches
        return self.slots.claim_size(self.listener, batches=batches)

    async def _claim(self, free: int) -> list[ClaimedDelivery]:
        listener = self.listener
        assert listener is not None
        rate, margin_s = listener.rate_limit_per_s, self.ctx.settings.lease_s
        lease = lease_s(margin_s, listener.timeout_s, self.slots.sending + free, rate)
        if listener.ordered:
            return await claim_oldest(self.ctx.pool, self.listener_id, listener.queue_id, lease)
        return await claim_due(self.ctx.pool, self.listener_id, listener.queue_id, free, lease)

    async def _heard_of_work(self) -> bool:
        """A wake-up signal came, or (read every LINGER_POLL_S) the dirty flag is set."""
        if self.watch.take_signal():
            return True
        if asyncio.get_running_loop().time() - self.dirty_read_at < LINGER_POLL_S:
            return False
        return await self._consume_dirty()

    async def _consume_dirty(self) -> bool:
        self.dirty_read_at = asyncio.get_running_loop().time()
        return await take_dirty(self.ctx.redis, self.listener_id)

    def _start(self, claimed: list[ClaimedDelivery]) -> None:
        assert self.listener is not None
        if not claimed:
            return
        sink = self.ctx.sinks[self.listener.type]
        self.slots.sending += len(claimed)
        self.senders.start(sink, claimed, together=sink.batches and self.bucket is None)

    async def _deliver(self, sink: Sink, group: list[ClaimedDelivery]) -> None:
        """Sends the group and records its outcomes (the recording goes on in the
        background; the slot is free as soon as the outcome is known)."""
        listener = self.listener
        assert listener is not None
        try:
            if self.bucket is not None:  # then the group is one delivery
                await self.bucket.take()
            if len(group) == 1:  # one await layer less on the way to the receiver
                results = [await sink.send(listener, group[0])]
            else:
                results = await sink.send_many(listener, group)
        except Exception as exc:  # a bug, not the receiver: each delivery fails this attempt
            log.error("delivery task failed", exc_info=True)
            results = [internal_error(exc)] * len(group)
        finally:
            self.slots.sending -= len(group)
        self.sent += len(results)
        soon = self._claims_wait_for_records()
        for delivery, result in zip(group, results, strict=True):
            self.records.add(listener, delivery, result, soon=soon)
        self.slots.unrecorded += len(results)
        self._wake_when_ready()

    async def _give_back(self) -> None:
        """When the drain stops early: unsent deliveries go back to pending at once, attempt
        unspent; outcomes already known still get recorded."""
        unsent = self.senders.cancel()
        with contextlib.suppress(Exception):
            await asyncio.shield(release(self.ctx.pool, self.listener_id, unsent))
        with contextlib.suppress(Exception):
            await asyncio.shield(self.records.committed())


async def drain_listener(ctx: dict[str, object], listener_id: str) -> int:
    """arq job: drain one listener until nothing is due (idempotent: claims are leased)."""
    context = ctx["herald"]
    assert isinstance(context, WorkerContext)
    return await Drain(context, uuid.UUID(listener_id)).run()
