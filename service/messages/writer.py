"""The ingest write path: concurrent requests' jobs written together (group commit), in one
statement (service/messages/store.py), or in a transaction when idempotency keys are claimed.

A group is bounded in rows and in bytes. When Postgres refuses a group's statement, its
jobs are written one by one, so only the job it refuses fails.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg

from service.errors import InvalidInput, NotFound, Unavailable
from service.lib.group_commit import GroupCommitter
from service.messages.idempotency import claim_idempotency_key, lock_queues
from service.messages.records import IngestJob, StaleRouting, WriteOutcome
from service.messages.store import StoredGroup, store_group

logger = logging.getLogger("herald.ingest")

# Getting a connection failed: nothing was sent.
CONNECT_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
# Postgres refused the write before doing anything.
REFUSED_ERRORS = (
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,
)
# The connection broke while the write was under way: it may have committed.
LOST_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
)
# A pooled connection whose backend was terminated while it sat idle can still look open;
# asyncpg then refuses to use it ("cannot switch to state ...") before sending anything,
# so the group is safe to write again. Its siblings were most likely terminated with it
# (a restart, a failover), so the pool replaces every connection it holds first.
STALE_CONNECTION_ERRORS = (asyncpg.InternalClientError,)
ACQUIRE_TIMEOUT_S = 5.0
# Parameters a group may carry: Postgres refuses a statement whose parameters pass 1 GB.
MAX_GROUP_BYTES = 64 * 1024 * 1024
NOTHING_STORED = "The database is unavailable; nothing was stored. Retry later."
OUTCOME_UNKNOWN = (
    "The connection to the database broke during the write: the messages may have been"
    " stored. Retry with the same Idempotency-Key to store them exactly once."
)


class GroupCommitWriter:
    """Writes ingest jobs; concurrent jobs share one statement and one commit."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        writers: int = 4,
        max_rows: int = 20_000,
        idempotency_ttl_s: float = 24 * 3600,
    ) -> None:
        self.pool = pool
        self.idempotency_ttl = timedelta(seconds=idempotency_ttl_s)
        self._committer: GroupCommitter[IngestJob, WriteOutcome] = GroupCommitter(
            self._write_group,
            writers=writers,
            budget=max_rows,
            size=lambda job: max(1, len(job.items), job.size // (MAX_GROUP_BYTES // max_rows)),
            name="ingest-writer",
        )

    async def write(self, job: IngestJob) -> WriteOutcome:
        """Returns once the job is committed; raises NotFound or Unavailable."""
        return await self._committer.submit(job)

    async def close(self) -> None:
        await self._committer.close()

    async def _write_group(self, group: list[IngestJob]) -> list[WriteOutcome | Exception]:
        try:
            return await self._write(group)
        except asyncpg.PostgresError as exc:  # refused for what one job holds, most likely
            if len(group) == 1:
                logger.error("ingest write refused: %s", type(exc).__name__)
                raise
            logger.warning("an ingest group was refused (%s): written job by job", type(exc))
            return [await self._write_alone(job) for job in group]

    async def _write_alone(self, job: IngestJob) -> WriteOutcome | Exception:
        try:
            return (await self._write([job]))[0]
        except asyncpg.PostgresError as exc:
            logger.error("ingest write refused: %s", type(exc).__name__)
            refused: Exception = exc
            return refused

    async def _write(
        self, group: list[IngestJob], *, fresh: bool = False
    ) -> list[WriteOutcome | Exception]:
        """Raises Unavailable when Postgres cannot be reached (nothing stored) or the
        connection broke during the write (it may have committed)."""
        try:
            connection = await self.pool.acquire(timeout=ACQUIRE_TIMEOUT_S)
        except CONNECT_ERRORS as exc:
            logger.warning("ingest write failed, database unavailable: %r", exc)
            raise Unavailable(NOTHING_STORED, retry_after_s=2) from exc
        try:
            return await self._store(connection, group)
        except STALE_CONNECTION_ERRORS as exc:
            if fresh:
                raise Unavailable(NOTHING_STORED, retry_after_s=2) from exc
            logger.warning("ingest write on a stale connection, written again: %r", exc)
            await self.pool.expire_connections()
        except REFUSED_ERRORS as exc:
            logger.warning("ingest write refused, database unavailable: %r", exc)
            raise Unavailable(NOTHING_STORED, retry_after_s=2) from exc
        except LOST_ERRORS as exc:
            raise self._lost(exc) from exc
        finally:
            await self.pool.release(connection)
        return await self._write(group, fresh=True)

    @staticmethod
    def _lost(exc: BaseException) -> Unavailable:
        logger.warning("ingest connection lost during a write: %r", exc)
        return Unavailable(OUTCOME_UNKNOWN, retry_after_s=2)

    async def _store(
        self, connection: asyncpg.Connection, group: list[IngestJob]
    ) -> list[WriteOutcome | Exception]:
        if not any(job.idempotency_key for job in group):
            return _outcomes(group, await store_group(connection, group))
        async with connection.transaction():
            return await _store_with_keys(connection, group, self.idempotency_ttl)


def _outcomes(
    group: list[IngestJob],
    stored: StoredGroup,
    settled: dict[int, WriteOutcome | Exception] | None = None,
) -> list[WriteOutcome | Exception]:
    outcomes: list[WriteOutcome | Exception] = []
    for position, job in enumerate(group):
        if settled and position in settled:
            outcomes.append(settled[position])
        elif (job.queue_id, job.org_id) not in stored.owners:
            outcomes.append(NotFound("Queue not found"))
        elif stored.versions[job.queue_id] != job.routing_version:
            outcomes.append(StaleRouting())
        else:
            outcomes.append(WriteOutcome(listener_ids=stored.listeners.get(job.queue_id, ())))
    return outcomes


async def _store_with_keys(
    connection: asyncpg.Connection, group: list[IngestJob], ttl: timedelta
) -> list[WriteOutcome | Exception]:
    """Claims each idempotency key (a repeat gets the first response), then stores the rest."""
    owners = await lock_queues(connection, {job.queue_id for job in group})
    settled: dict[int, WriteOutcome | Exception] = {}
    idempotent = sorted(
        (p for p, job in enumerate(group) if job.idempotency_key),
        key=lambda p: (group[p].queue_id, group[p].idempotency_key or ""),
    )
    for position in idempotent:
        job = group[position]
        owner = owners.get(job.queue_id)
        if owner is None or owner[0] != job.org_id:
            continue  # NotFound, from the store's answer
        if owner[1] != job.routing_version:
            settled[position] = StaleRouting()
            continue
        try:
            replayed = await claim_idempotency_key(connection, job, ttl)
        except InvalidInput as exc:  # the key names another request
            settled[position] = exc
            continue
        if replayed is not None:
            settled[position] = WriteOutcome(replayed=replayed)
    fresh = [job for p, job in enumerate(group) if p not in settled]
    claimed = frozenset(job.batch_id for job in fresh if job.idempotency_key)
    stored = await store_group(connection, fresh, batch_exists=claimed)
    return _outcomes(group, stored, settled)
