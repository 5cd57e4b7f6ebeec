"""The ingest write path: a group of requests' batches, messages, payloads, fan-out
delivery rows and failures, written with COPY in one transaction (group commit)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from service.errors import NotFound, Unavailable
from service.lib.group_commit import GroupCommitter
from service.lib.ids import new_id
from service.messages.records import IngestJob, WriteOutcome

logger = logging.getLogger("herald.ingest")

UNAVAILABLE_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionFailureError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
)


class GroupCommitWriter:
    """Writes ingest jobs; concurrent jobs share a transaction and one COPY per table."""

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
            size=lambda job: max(1, len(job.messages)),
            name="ingest-writer",
        )

    async def write(self, job: IngestJob) -> WriteOutcome:
        """Returns once the job is committed; raises NotFound or Unavailable."""
        return await self._committer.submit(job)

    async def close(self) -> None:
        await self._committer.close()

    async def _write_group(self, group: list[IngestJob]) -> list[WriteOutcome | Exception]:
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                return await _store(connection, group, self.idempotency_ttl)
        except UNAVAILABLE_ERRORS as exc:
            logger.warning("ingest write failed, database unavailable: %r", exc)
            raise Unavailable(
                "The database is unavailable; nothing was stored. Retry later.", retry_after_s=2
            ) from exc
        except Exception:
            logger.exception("ingest write failed")
            raise


async def _store(
    connection: asyncpg.Connection, group: list[IngestJob], ttl: timedelta
) -> list[WriteOutcome | Exception]:
    """The whole group's writes; runs inside the transaction."""
    outcomes: list[WriteOutcome | Exception | None] = [None] * len(group)
    owners = await _lock_queues(connection, {job.queue_id for job in group})
    for position, job in enumerate(group):
        if owners.get(job.queue_id) != job.org_id:
            outcomes[position] = NotFound("Queue not found")
    idempotent = sorted(
        (p for p, job in enumerate(group) if outcomes[p] is None and job.idempotency_key),
        key=lambda p: (group[p].queue_id, group[p].idempotency_key or ""),
    )
    for position in idempotent:
        replayed = await _claim_idempotency_key(connection, group[position], ttl)
        if replayed is not None:
            outcomes[position] = WriteOutcome(replayed=replayed)
    fresh = [job for p, job in enumerate(group) if outcomes[p] is None]
    plain_batches = [job for job in fresh if not job.idempotency_key]
    listeners = await _fan_out_targets(connection, {job.queue_id for job in fresh})
    await _insert_rows(connection, fresh, plain_batches, listeners)
    for position, job in enumerate(group):
        if outcomes[position] is None:
            outcomes[position] = WriteOutcome(listener_ids=tuple(listeners.get(job.queue_id, ())))
    return [o if o is not None else WriteOutcome() for o in outcomes]


async def _lock_queues(
    connection: asyncpg.Connection, queue_ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    # KEY SHARE keeps each queue from being deleted until this batch is committed.
    rows = await connection.fetch(
        "SELECT id, org_id FROM queues WHERE id = ANY($1::uuid[]) FOR KEY SHARE", list(queue_ids)
    )
    return {row["id"]: row["org_id"] for row in rows}


async def _fan_out_targets(
    connection: asyncpg.Connection, queue_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Listeners that get the message: active or paused (held), not disabled or deleted."""
    if not queue_ids:
        return {}
    rows = await connection.fetch(
        "SELECT id, queue_id FROM listeners WHERE queue_id = ANY($1::uuid[])"
        " AND status IN ('active', 'paused') AND deleted_at IS NULL ORDER BY id",
        list(queue_ids),
    )
    targets: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in rows:
        targets.setdefault(row["queue_id"], []).append(row["id"])
    return targets


async def _claim_idempotency_key(
    connection: asyncpg.Connection, job: IngestJob, ttl: timedelta
) -> dict[str, Any] | None:
    """Inserts the job's batch under its key; returns the stored response if the key was taken."""
    insert = (
        "INSERT INTO batches (id, org_id, queue_id, received_at, accepted, rejected,"
        " idempotency_key, response)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)"
        " ON CONFLICT (queue_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
        " DO NOTHING RETURNING id"
    )
    args = (
        job.batch_id,
        job.org_id,
        job.queue_id,
        job.received_at,
        len(job.messages),
        len(job.failures),
        job.idempotency_key,
        json.dumps(job.response),
    )
    if await connection.fetchval(insert, *args) is not None:
        return None
    existing = await connection.fetchrow(
        "SELECT id, received_at, response FROM batches"
        " WHERE queue_id = $1 AND idempotency_key = $2 FOR UPDATE",
        job.queue_id,
        job.idempotency_key,
    )
    if existing is not None and existing["received_at"] > job.received_at - ttl:
        stored: dict[str, Any] = json.loads(existing["response"])
        return stored
    if existing is not None:
        # The key's 24 hours are over: it now names this new batch.
        await connection.execute(
            "UPDATE batches SET idempotency_key = NULL WHERE id = $1", existing["id"]
        )
    await connection.fetchval(insert, *args)
    return None


INSERT_BATCHES = """
    INSERT INTO batches (id, org_id, queue_id, received_at, accepted, rejected)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::int[],
                         $6::int[])
"""
INSERT_MESSAGES = """
    INSERT INTO messages (id, org_id, queue_id, batch_id, index, content_type, size, received_at,
                          original_headers)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[],
                         $7::int[], $8::timestamptz[], $9::jsonb[])
"""
INSERT_PAYLOADS = """
    INSERT INTO message_payloads (message_id, body, created_at)
    SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::timestamptz[])
"""
INSERT_DELIVERIES = """
    INSERT INTO deliveries (id, message_id, listener_id, status, attempts, next_attempt_at,
                            created_at)
    SELECT d.id, d.message_id, d.listener_id, 'pending', 0, d.at, d.at
      FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[])
           AS d(id, message_id, listener_id, at)
"""
INSERT_FAILURES = """
    INSERT INTO batch_failures (batch_id, index, reason, raw)
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bytea[])
"""


async def _insert_rows(
    connection: asyncpg.Connection,
    jobs: list[IngestJob],
    plain_batches: list[IngestJob],
    listeners: dict[uuid.UUID, list[uuid.UUID]],
) -> None:
    """One INSERT ... SELECT FROM unnest(arrays) per table: a single prepared statement each,
    which for the small groups of the hot path beats COPY (that looks the table up first)."""
    if plain_batches:
        await connection.execute(
            INSERT_BATCHES,
            *_columns(
                [
                    (
                        j.batch_id,
                        j.org_id,
                        j.queue_id,
                        j.received_at,
                        len(j.messages),
                        len(j.failures),
                    )
                    for j in plain_batches
                ],
                6,
            ),
        )
    messages: list[tuple[Any, ...]] = []
    payloads: list[tuple[Any, ...]] = []
    deliveries: list[tuple[Any, ...]] = []
    failures: list[tuple[Any, ...]] = []
    for job in jobs:
        headers = json.dumps(job.original_headers) if job.original_headers is not None else None
        targets = listeners.get(job.queue_id, ())
        for message in job.messages:
            messages.append(
                (
                    message.id,
                    job.org_id,
                    job.queue_id,
                    job.batch_id,
                    message.index,
                    message.content_type,
                    len(message.body),
                    job.received_at,
                    headers,
                )
            )
            payloads.append((message.id, message.body, job.received_at))
            deliveries.extend((new_id(), message.id, target, job.received_at) for target in targets)
        failures.extend((job.batch_id, f.index, f.reason, f.raw) for f in job.failures)
    await _insert(connection, INSERT_MESSAGES, messages, 9)
    await _insert(connection, INSERT_PAYLOADS, payloads, 3)
    await _insert(connection, INSERT_DELIVERIES, deliveries, 4)
    await _insert(connection, INSERT_FAILURES, failures, 4)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


async def _insert(
    connection: asyncpg.Connection, sql: str, rows: list[tuple[Any, ...]], width: int
) -> None:
    if rows:
        await connection.execute(sql, *_columns(rows, width))
