"""The retention purge (every minute, workers/crons.py): deletes what Herald no longer keeps, in
bounded batches, so that every statement is short and holds its locks briefly.

- messages older than their queue's `retention_days` (HERALD_RETENTION_DAYS when unset),
  with their deliveries and attempts, unless a delivery is still open;
- everything a deleted queue left behind, then the queue's deleted_queues row;
- batches (and their failures) past retention once none of their messages is left.
Ids are UUIDv7, so "older than" is an id range on the (queue_id, id) key; deliveries are
found by (listener_id, message_id), for the listeners the queue has or had.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import asyncpg

from service.db.base import utcnow
from service.deliveries.state import PURGE_MESSAGES
from service.lib.ids import AFTER_ALL, id_floor
from workers.context import WorkerContext

PURGE_BATCHES = """
    WITH gone AS (
        DELETE FROM batches b
         WHERE b.id IN (SELECT id FROM batches
                         WHERE queue_id = $1 AND id < $2
                           AND NOT EXISTS (SELECT FROM messages m
                                            WHERE m.queue_id = $1 AND m.id > batches.id
                                              AND m.id <= batches.last_message_id
                                              AND m.batch_id = batches.id)
                         LIMIT $3)
        RETURNING b.id
    ), gone_failures AS (
        DELETE FROM batch_failures f USING gone WHERE f.batch_id = gone.id
    )
    SELECT count(*) FROM gone
"""
BATCH = 1000
BUDGET_S = 20.0  # per run; the next minute's run carries on


async def purge_expired(
    pool: asyncpg.Pool, default_days: int, *, now: datetime | None = None, batch: int = BATCH
) -> dict[str, int]:
    """One pass over every queue; returns how many messages and batches it deleted."""
    now = now or utcnow()
    deadline = time.monotonic() + BUDGET_S
    counts = {"messages": 0, "batches": 0}
    queues = await pool.fetch(
        "SELECT q.id, q.retention_days,"
        " ARRAY(SELECT l.id FROM listeners l WHERE l.queue_id = q.id) AS listener_ids"
        " FROM queues q"
    )
    for row in queues:
        cutoff = id_floor(now - timedelta(days=row["retention_days"] or default_days))
        await _purge_queue(
            pool, row["id"], row["listener_ids"], cutoff, True, batch, deadline, counts
        )
    for row in await pool.fetch("SELECT queue_id, listener_ids FROM deleted_queues"):
        if await _purge_queue(
            pool, row["queue_id"], row["listener_ids"], AFTER_ALL, False, batch, deadline, counts
        ):
            await pool.execute("DELETE FROM deleted_queues WHERE queue_id = $1", row["queue_id"])
    return counts


async def _purge_queue(
    pool: asyncpg.Pool,
    queue_id: uuid.UUID,
    listener_ids: list[uuid.UUID],
    cutoff: uuid.UUID,
    keep_open: bool,
    batch: int,
    deadline: float,
    counts: dict[str, int],
) -> bool:
    """True when nothing is left to purge for this queue."""
    for sql, key in ((PURGE_MESSAGES, "messages"), (PURGE_BATCHES, "batches")):
        while True:
            if time.monotonic() > deadline:
                return False
            if key == "messages":
                status = await pool.execute(sql, queue_id, cutoff, batch, keep_open, listener_ids)
                deleted = int(status.split()[-1])
            else:
                deleted = await pool.fetchval(sql, queue_id, cutoff, batch)
            counts[key] += deleted
            if deleted < batch:
                break
    return True


async def purge(herald: WorkerContext) -> dict[str, int]:
    return await purge_expired(herald.pool, herald.settings.retention_days)
