"""Draining one listener: claim due deliveries, send them (up to max_in_flight at once),
record each outcome, until nothing is due.

At most one drain per listener runs at a time (its turn, in the wake-up protocol of
service/deliveries/wakeup.py). The drain stops claiming once the listener is paused,
disabled, deleted or unreachable (seen within LISTENER_MAX_AGE_S), as soon as its circuit
opens, or when the worker shuts down.

A drain is one arq job, and a worker runs a bounded number of them: so that no listener
keeps a slot while others wait, a drain gives its slot back with work left (and queues its
next turn behind the drains already waiting) once its time slice (`drain_slice_s`) is
over, and a rate-limited one whenever its next token is more than PACE_YIELD_S away (its
next turn is queued for then).
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
from workers.pacing import TokenBucket, lease_s, restore_bucket, save_bucket
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
# A rate-limited drain waits for a token nearer than this; a later one, it waits for
# without a slot.
PACE_YIELD_S = 1.0


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
        self.body_bytes = 0  # bodies claimed and not yet sent, counted in ctx.bodies
        self._reload = True
        self.started_at = 0.0  # event loop time the drain's turn began
        # Set when the drain gives its slot back with work left: seconds to its next turn.
        self.resume_in: float | None = None
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
            self.started_at = asyncio.get_running_loop().time()
            try:
                with self.ctx.wake_signals.watch(self.listener_id) as self.watch:
                    await self._loop()
                    self.senders.stop()
                    await self.records.committed()
            except BaseException:  # cancelled, or Redis/Postgres gone mid-drain
                await self._give_back()
                raise
            finally:
                self.ctx.bodies.give(self.body_bytes)
                if self.bucket is not None:
                    with contextlib.suppress(Exception):
                        await save_bucket(redis, self.listener_id, self.bucket)
        if self.ctx.stopping.is_set():
            return self.sent
        if self.resume_in is not None:
            await self.ctx.waker.wake_later(self.listener_id, self.resume_in)
        elif await woken_since(redis, self.listener_id):
            # A wake-up that came while we were leaving found the lock held: honour it now.
            await self.ctx.waker.wake_now([self.listener_id], force=True)
        return self.sent

    async def _loop(self) -> None:
        more = True  # due work may be waiting
        while True:
            if self._reload or self._listener_age() > LISTENER_MAX_AGE_S:
                self.listener = await self._load()
                self._reload = False
            can_claim = self._can_claim()
            if can_claim and more and (pause := self._pause_s()) is not None:
                can_claim = False
                if self.slots.idle:
                    self.resume_in = pause
                    return
            if can_claim and not more:
                more = await self._heard_of_work()
            if can_claim and more and self._may_claim():
                wanted = min(self._free_slots(), self._claim_size())
                claimed, more = await self._claim(wanted)
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

    def _pause_s(self) -> float | None:
        """When the drain should give its slot back: 0 when its time slice is over, the
        wait for a token when that is long; else None."""
        now = asyncio.get_running_loop().time()
        if now - self.started_at >= self.ctx.settings.drain_slice_s:
            return 0.0
        if self.bucket is not None and (wait := self.bucket.wait_s()) > PACE_YIELD_S:
            return wait
        return None

    def _listener_age(self) -> float:
        return asyncio.get_running_loop().time() - self.loaded_at

    async def _load(self) -> ListenerConfig | None:
        self.loaded_at = asyncio.get_running_loop().time()
        listener = await load_listener(
            self.ctx.pool,
            self.listener_id,
            self.ctx.secret_box,
            list(self.ctx.settings.retry_schedule_s),
            self.ctx.egress.per_host,
        )
        if listener is not None and listener.rate_limit_per_s:
            if self.bucket is None:
                self.bucket = await restore_bucket(
                    self.ctx.redis, self.listener_id, listener.rate_limit_per_s
                )
            elif self.bucket.rate != listener.rate_limit_per_s:
                self.bucket = TokenBucket(listener.rate_limit_per_s)
        else:
            self.bucket = None
        return listener

    def _free_slots(self) -> int:
        assert self.listener is not None
        return self.slots.free(self.listener)

    def _may_claim(self) -> bool:
        """Enough free slots, and bodies within the worker's budget (a drain with nothing
        under way may always claim one delivery, so that every drain moves)."""
        assert self.listener is not None
        if not self.slots.can_claim(self.listener):
            return False
        return self.slots.idle or self.ctx.bodies.for_claim() > 0

    def _claim_size(self) -> int:
        assert self.listener is not None
        batches = self.ctx.sinks[self.listener.type].batches
        return self.slots.claim_size(self.listener, batches=batches)

    async def _claim(self, wanted: int) -> tuple[list[ClaimedDelivery], bool]:
        """The claimed deliveries, and whether more may be due (a claim cut short by
        neither the count nor the byte budget means the listener is drained)."""
        listener = self.listener
        assert listener is not None
        rate, margin_s = listener.rate_limit_per_s, self.ctx.settings.lease_s
        lease = lease_s(margin_s, listener.timeout_s, self.slots.sending + wanted, rate)
        budget = max(1, self.ctx.bodies.for_claim())
        if listener.ordered:
            claimed = await claim_oldest(self.ctx.pool, self.listener_id, listener.queue_id, lease)
        else:
            claimed = await claim_due(
                self.ctx.pool, self.listener_id, listener.queue_id, wanted, lease, budget
            )
        size = sum(len(delivery.body or b"") for delivery in claimed)
        self.body_bytes += size
        self.ctx.bodies.take(size)
        # Cut by the budget only if something was claimed and the next body could pass it.
        cut = bool(claimed) and size > budget - self.ctx.settings.max_message_bytes
        more = len(claimed) == wanted or cut
        return claimed, more

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
            self._sent_bodies(group)
        self.sent += len(results)
        soon = self._claims_wait_for_records()
        for delivery, result in zip(group, results, strict=True):
            self.records.add(listener, delivery, result, soon=soon)
        self.slots.unrecorded += len(results)
        self._wake_when_ready()

    def _sent_bodies(self, group: list[ClaimedDelivery]) -> None:
        """The group's bodies are no longer needed: out of the worker's budget."""
        size = 0
        for delivery in group:
            size += len(delivery.body or b"")
            delivery.body = None
        self.body_bytes -= size
        self.ctx.bodies.give(size)

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
