"""A drain's attempt outcomes on their way to the recorder (workers/recorder.py).

Outcomes wait RECORD_LINGER_S to be recorded together (a slot is free once its outcome is
known): recorded each event-loop turn, 2,900 live messages/s took 300 statements/s of 9
each. When the drain's next claim waits for them (ordered and half-open listeners) they go
at the next turn. The listener state changes a group causes apply once it is committed: a
410 cancels what is open, and its own delivery is to end failed first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from workers.claims import ClaimedDelivery
from workers.context import WorkerContext
from workers.listeners import ListenerConfig
from workers.outcomes import attempt_record, change_listener, changes_listener, judge
from workers.policy import Decision
from workers.recorder import AttemptRecord
from workers.sinks import SinkResult, internal_error

log = structlog.get_logger("herald.drain")

RECORD_LINGER_S = 0.01
Effect = tuple[ListenerConfig, Decision]


class PendingRecords:
    def __init__(
        self,
        ctx: WorkerContext,
        *,
        on_recorded: Callable[[int], None],
        on_listener_changed: Callable[[], None],
    ) -> None:
        """`on_recorded(n)` once a group of n outcomes is committed (or failed);
        `on_listener_changed()` after an outcome changed the listener's state."""
        self._ctx = ctx
        self._on_recorded = on_recorded
        self._on_listener_changed = on_listener_changed
        self._outcomes: list[AttemptRecord] = []  # not yet handed to the recorder
        self._effects: list[Effect] = []
        self._recording: dict[asyncio.Future[None], int] = {}  # -> outcomes in the group

    def add(
        self,
        listener: ListenerConfig,
        delivery: ClaimedDelivery,
        result: SinkResult,
        *,
        soon: bool,
    ) -> None:
        """Judges the attempt and queues its record; `soon`: within this event-loop turn."""
        try:
            record, effect = _outcome(listener, delivery, result)
        except Exception as exc:  # one result that cannot be judged fails alone
            log.error("judging an attempt failed", exc_info=True)
            record, effect = _outcome(listener, delivery, internal_error(exc, result.started_at))
        if not self._outcomes:  # the first since the last flush
            loop = asyncio.get_running_loop()
            if soon:
                loop.call_soon(self.flush)
            else:
                loop.call_later(RECORD_LINGER_S, self.flush)
        self._outcomes.append(record)
        if effect is not None:
            self._effects.append(effect)

    def flush(self) -> None:
        """Hands the queued outcomes to the recorder as one group (one future and one
        callback for all of them)."""
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        effects, self._effects = self._effects, []
        recorded = self._ctx.recorder.record_nowait(outcomes)
        if effects:
            recorded = asyncio.ensure_future(self._apply(recorded, effects))
        self._recording[recorded] = len(outcomes)
        recorded.add_done_callback(self._recorded_group)

    async def committed(self) -> None:
        """Until every outcome added so far is committed."""
        self.flush()
        while self._recording:
            await asyncio.wait(set(self._recording))

    def _recorded_group(self, future: asyncio.Future[None]) -> None:
        self._on_recorded(self._recording.pop(future))
        if not future.cancelled() and future.exception() is not None:
            log.error("recording attempts failed", exc_info=future.exception())

    async def _apply(self, recorded: asyncio.Future[None], effects: list[Effect]) -> None:
        await recorded
        for listener, decision in effects:
            await change_listener(self._ctx.pool, self._ctx.settings, listener, decision)
            self._on_listener_changed()


def _outcome(
    listener: ListenerConfig, delivery: ClaimedDelivery, result: SinkResult
) -> tuple[AttemptRecord, Effect | None]:
    decision = judge(listener, delivery, result)
    record = attempt_record(listener, delivery, result, decision)
    return record, (listener, decision) if changes_listener(listener, decision) else None
