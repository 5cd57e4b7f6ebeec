"""Recording attempt outcomes in batches: one statement (RECORD_OUTCOMES in
service/deliveries/state.py) per group of attempts.

Like ingest, outcomes that finish at about the same time share a transaction, so the
record step costs a few microseconds per delivery instead of a commit each.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import NamedTuple

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from service.deliveries.state import RECORD_OUTCOMES, DeliveryStatus
from service.lib.group_commit import GroupCommitter
from service.stats.minutes import DeliveryMinutes

WRITE_ATTEMPTS = 4
CONNECTION_ERRORS = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    OSError,
)


class AttemptRecord(NamedTuple):
    """One attempt and the delivery's state after it; the fields are those of the
    attempt_outcome type (migration 0008), in its order."""

    listener_id: uuid.UUID
    message_id: uuid.UUID  # names the delivery within its listener
    number: int
    new_status: DeliveryStatus
    status_code: int | None
    error: str | None
    started_at: float  # unix seconds
    duration_ms: int
    response_body: str | None
    next_attempt_at: float | None  # unix seconds, when the delivery is pending again


Records = list[AttemptRecord]


class Recorder:
    """Writes groups of AttemptRecords; outcomes submitted at about the same time (by any
    drain) share one statement."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        minutes: DeliveryMinutes,
        *,
        writers: int = 1,
        max_batch: int = 2000,
    ) -> None:
        self.pool = pool
        self.minutes = minutes
        self._committer: GroupCommitter[Records, None] = GroupCommitter(
            self._write, writers=writers, budget=max_batch, size=len, name="attempt-recorder"
        )

    def record_nowait(self, records: Records) -> asyncio.Future[None]:
        """Done once every record of the group is committed (or failed: the first error)."""
        return self._committer.submit_nowait(records)

    async def close(self) -> None:
        await self._committer.close()

    async def _write(self, groups: list[Records]) -> list[Exception | None]:
        batch = [record for group in groups for record in group]
        try:
            await self._write_retrying(batch)
        except asyncpg.exceptions.DataError:
            if len(batch) == 1:
                raise
            # One record Postgres refuses must not keep the others of its group unrecorded.
            return [await self._write_each(group) for group in groups]
        self._count(batch)
        return [None] * len(groups)

    async def _write_each(self, group: Records) -> Exception | None:
        errors = [await self._write_alone(record) for record in group]
        return next((error for error in errors if error is not None), None)

    async def _write_alone(self, record: AttemptRecord) -> Exception | None:
        try:
            await self._write_retrying([record])
        except asyncpg.exceptions.DataError as exc:
            refused: Exception = exc
            return refused
        self._count([record])
        return None

    def _count(self, records: Records) -> None:
        self.minutes.add(
            (r.listener_id, r.new_status, r.started_at, r.duration_ms) for r in records
        )

    async def _write_retrying(self, batch: Records) -> None:
        # A lost connection (Postgres restarted, backend terminated) gets a fresh one: the
        # write is idempotent, and an outcome not recorded means the delivery goes again.
        # The first try goes without tenacity, whose setup per write was about 2 % of the
        # worker's CPU at full delivery rate.
        try:
            await self._write_once(batch)
            return
        except CONNECTION_ERRORS:
            pass
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(WRITE_ATTEMPTS - 1),
            wait=wait_exponential(multiplier=0.1, max=1),  # after an immediate second try
            retry=retry_if_exception_type(CONNECTION_ERRORS),
            reraise=True,
        ):
            with attempt:
                await self._write_once(batch)

    async def _write_once(self, batch: Records) -> None:
        await self.pool.execute(RECORD_OUTCOMES, batch)
