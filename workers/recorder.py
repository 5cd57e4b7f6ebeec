"""Recording attempt outcomes in batches: one statement per group of attempts.

Like ingest, outcomes that finish at about the same time share a transaction, so the
record step costs a few microseconds per delivery instead of a commit each.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import NamedTuple

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
# was cancelled) from overwriting newer state; its attempt is still logged. Times come as
# unix seconds: a float encodes several times faster than a datetime.
#
# Each delivery row is found by its key, then updated by its ctid: the plan is then one
# lookup per outcome whatever the statistics say. Joined to the outcomes by key, with the
# statistics seeing almost no row in flight (the normal case), the planner scanned the
# whole table and compared every in-flight row with every outcome: 174 ms for 512 outcomes
# on 50,000 deliveries instead of 7. The status the guard expects comes from the outcomes'
# side for the same reason (as a constant, its estimate of one row made a generic plan
# compare each row with each outcome). A row that another transaction changes during the
# statement is skipped (its attempt is still logged). That change is almost always one the
# guard refuses anyway (lease expired, cancelled); the exception, a listener made ordered
# while its deliveries are in flight, leaves the delivery to be sent again after its lease.
RECORD_OUTCOMES = """
    WITH v AS (
        SELECT o.*, to_timestamp(o.started_at) AS started
          FROM unnest($1::attempt_outcome[]) o
    ), target AS MATERIALIZED (
        SELECT v.*, found.ctid AS row_ctid, 'in_flight'::text AS open_status
          FROM v CROSS JOIN LATERAL (
              SELECT ctid FROM deliveries
               WHERE listener_id = v.listener_id AND message_id = v.message_id
              OFFSET 0
          ) found
    ), updated AS (
        UPDATE deliveries d
           SET status = t.status, next_attempt_at = to_timestamp(t.next_attempt_at),
               lease_expires_at = NULL, last_status_code = t.status_code, last_error = t.error,
               delivered_at = CASE WHEN t.status = 'delivered'
                                   THEN t.started + make_interval(secs => t.duration_ms / 1000.0)
                              END
          FROM target t
         WHERE d.ctid = t.row_ctid AND d.status = t.open_status AND d.attempts = t.number
    )
    INSERT INTO attempts (listener_id, message_id, number, started_at, duration_ms,
                          status_code, error, response_body)
    SELECT listener_id, message_id, number, started, duration_ms, status_code, error,
           response_body
      FROM v
    ON CONFLICT (listener_id, message_id, number) DO NOTHING
"""


class AttemptRecord(NamedTuple):
    """One attempt and the delivery's state after it; the fields are those of the
    attempt_outcome type (migration 0008), in its order."""

    listener_id: uuid.UUID
    message_id: uuid.UUID  # names the delivery within its listener
    number: int
    new_status: str
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

    def __init__(self, pool: asyncpg.Pool, *, writers: int = 1, max_batch: int = 2000) -> None:
        self.pool = pool
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
        return None

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
