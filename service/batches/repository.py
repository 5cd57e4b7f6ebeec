"""SQL for batches: the record, and server-side cursors over its messages and failures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Batch, Queue
from service.errors import Unavailable

CURSOR_PREFETCH = 500
EXPORT_ACQUIRE_S = 2.0
# A batch's messages: ids (batch id, last_message_id] of its queue, made in index order.
MESSAGES_SQL = (
    "SELECT m.id, m.index, m.content_type, m.event_type, m.body FROM batches b"
    " JOIN messages m ON m.queue_id = b.queue_id AND m.id > b.id AND m.id <= b.last_message_id"
    " AND m.batch_id = b.id"
    " WHERE b.id = $1 ORDER BY m.id"
)
# A queue's batches newest first, found through its messages: a batch's messages follow its
# id, so from a batch the next older one is the batch of the newest message below that id
# (one index probe a batch, however many messages each holds). Batches that accepted
# nothing hold no message and are not listed. One more than :limit, below id :before.
RECENT_SQL = text("""
    WITH RECURSIVE found(batch_id, n) AS (
        (SELECT batch_id, 1 FROM messages WHERE queue_id = :queue_id AND id < :before
          ORDER BY id DESC LIMIT 1)
        UNION ALL
        SELECT (SELECT m.batch_id FROM messages m
                 WHERE m.queue_id = :queue_id AND m.id < found.batch_id
                 ORDER BY m.id DESC LIMIT 1), n + 1
          FROM found
         WHERE found.batch_id IS NOT NULL AND n <= :limit
    )
    SELECT b.* FROM found JOIN batches b ON b.id = found.batch_id
     WHERE b.org_id = :org_id
     ORDER BY b.id DESC
""")
FAILURES_SQL = "SELECT index, reason, raw FROM batch_failures WHERE batch_id = $1 ORDER BY index"


class BatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, org_id: uuid.UUID, batch_id: uuid.UUID) -> Batch | None:
        # Through its queue: a deleted queue's batches are gone for the API at once.
        result = await self.session.execute(
            select(Batch)
            .join(Queue, Queue.id == Batch.queue_id)
            .where(Batch.org_id == org_id, Batch.id == batch_id, Queue.org_id == org_id)
        )
        return result.scalar_one_or_none()

    async def recent(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, before: uuid.UUID, limit: int
    ) -> list[Batch]:
        """One more than `limit` of the queue's batches below `before`, newest first."""
        query = select(Batch).from_statement(RECENT_SQL)
        params = {"org_id": org_id, "queue_id": queue_id, "before": before, "limit": limit}
        return list((await self.session.execute(query, params)).scalars())


async def stream_rows(pool: asyncpg.Pool, sql: str, batch_id: uuid.UUID) -> AsyncIterator[Any]:
    """Rows of `sql` for one batch, fetched in slices: a large batch never sits in memory.
    When every connection of `pool` is taken (slow readers of other downloads), raises
    Unavailable (503) within EXPORT_ACQUIRE_S."""
    try:
        connection = await pool.acquire(timeout=EXPORT_ACQUIRE_S)
    except TimeoutError as exc:
        raise Unavailable(
            "Every download connection is busy; retry later", retry_after_s=2
        ) from exc
    try:
        async with connection.transaction(readonly=True):
            async for row in connection.cursor(sql, batch_id, prefetch=CURSOR_PREFETCH):
                yield row
    finally:
        await pool.release(connection)
