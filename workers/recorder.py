"""Recording attempt outcomes in batches: one statement per group of attempts.

Like ingest, outcomes that finish at about the same time share a transaction, so the
record step costs a few microseconds per delivery instead of a commit each.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from service.lib.group_commit import GroupCommitter

WRITE_ATTEMPTS = 4
CONNECTION_ERRORS = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    OSError,
)

# One statement, so one round trip and no BEGIN/COMMIT of its own: the delivery rows take
# the outcome and the attempts log gains a row each. The guard on status and attempts keeps
# a late result (after the lease ran out and the delivery was claimed again, or after it
# was cancelled) from overwriting newer state; its attempt is still logged.
RECORD_OUTCOMES = """
    WITH v AS (
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::timestamptz[],
                             $6::int[], $7::text[], $8::timestamptz[], $9::timestamptz[],
                             $10::int[], $11::text[])
            AS v(listener_id, message_id, number, status, next_attempt_at, status_code, error,
                 delivered_at, started_at, duration_ms, response_body)
    ), updated AS (
        UPDATE deliveries d
           SET status = v.status, next_attempt_at = v.next_attempt_at,
               lease_expires_at = NULL, last_status_code = v.status_code,
               last_error = v.error, delivered_at = v.delivered_at
          FROM v
         WHERE d.listener_id = v.listener_id AND d.message_id = v.message_id
           AND d.status = 'in_flight' AND d.attempts = v.number
    )
    INSERT INTO attempts (listener_id, message_id, number, started_at, duration_ms,
                          status_code, error, response_body)
    SELECT listener_id, message_id, number, started_at, duration_ms, status_code, error,
           response_body
      FROM v
    ON CONFLICT (listener_id, message_id, number) DO NOTHING
"""


@dataclass(frozen=True)
class AttemptRecord:
    listener_id: uuid.UUID
    message_id: uuid.UUID  # names the delivery within its listener
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None
    new_status: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class Recorder:
    """Batches AttemptRecords; each record's future is done once it is committed."""

    def __init__(self, pool: asyncpg.Pool, *, writers: int = 1, max_batch: int = 2000) -> None:
        self.pool = pool
        self._committer: GroupCommitter[AttemptRecord, None] = GroupCommitter(
            self._write, writers=writers, budget=max_batch, name="attempt-recorder"
        )

    def record_nowait(self, record: AttemptRecord) -> asyncio.Future[None]:
        """Done once the record is committed."""
        return self._committer.submit_nowait(record)

    async def close(self) -> None:
        await self._committer.close()

    async def _write(self, batch: list[AttemptRecord]) -> list[Exception | None]:
        try:
            await self._write_retrying(batch)
        except asyncpg.exceptions.DataError:
            if len(batch) == 1:
                raise
            # One record Postgres refuses must not keep the others of its group unrecorded.
            return [await self._write_alone(record) for record in batch]
        return [None] * len(batch)

    async def _write_alone(self, record: AttemptRecord) -> Exception | None:
        try:
            await self._write_retrying([record])
        except asyncpg.exceptions.DataError as exc:
            refused: Exception = exc
            return refused
        return None

    async def _write_retrying(self, batch: list[AttemptRecord]) -> None:
        # A lost connection (Postgres restarted, backend terminated) gets a fresh one: the
        # write is idempotent, and an outcome not recorded means the delivery goes again.
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(WRITE_ATTEMPTS),
            wait=wait_exponential(multiplier=0.05, max=1),
            retry=retry_if_exception_type(CONNECTION_ERRORS),
            reraise=True,
        ):
            with attempt:
                await self._write_once(batch)

    async def _write_once(self, batch: list[AttemptRecord]) -> None:
        await self.pool.execute(
            RECORD_OUTCOMES,
            [r.listener_id for r in batch],
            [r.message_id for r in batch],
            [r.number for r in batch],
            [r.new_status for r in batch],
            [r.next_attempt_at for r in batch],
            [r.status_code for r in batch],
            [r.error for r in batch],
            [r.delivered_at for r in batch],
            [r.started_at for r in batch],
            [r.duration_ms for r in batch],
            [r.response_body for r in batch],
        )
