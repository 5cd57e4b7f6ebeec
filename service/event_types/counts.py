"""Counting the event types a queue's messages carry, without a write per request: each
API process adds up what it committed and writes the sums once a second (one statement).
Counts an API process had not written when it died are lost; the catalog is a guide, not
a ledger. A queue records at most MAX_TYPES_PER_QUEUE distinct types."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

import asyncpg

from service.db.base import utcnow
from service.lib.periodic_flush import PeriodicFlush

FLUSH_EVERY_S = 1.0
MAX_PENDING = 10_000  # distinct (queue, type) pairs held between writes
MAX_TYPES_PER_QUEUE = 1000
# Sorted by key, so that two processes writing the same rows lock them in the same order.
ADD_COUNTS = f"""
    INSERT INTO event_types (queue_id, name, messages, last_seen_at)
    SELECT u.queue_id, u.name, u.count, u.seen
      FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::timestamptz[])
           AS u(queue_id, name, count, seen)
     WHERE EXISTS (SELECT 1 FROM queues q WHERE q.id = u.queue_id)
       AND (EXISTS (SELECT 1 FROM event_types e WHERE e.queue_id = u.queue_id AND e.name = u.name)
            OR (SELECT count(*) FROM event_types e WHERE e.queue_id = u.queue_id)
               < {MAX_TYPES_PER_QUEUE})
     ORDER BY u.queue_id, u.name
    ON CONFLICT (queue_id, name) DO UPDATE
       SET messages = event_types.messages + EXCLUDED.messages,
           last_seen_at = greatest(event_types.last_seen_at, EXCLUDED.last_seen_at)
"""


class EventTypeCounts(PeriodicFlush):
    every_s = FLUSH_EVERY_S
    what = "event type counts"  # lost when their write fails

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._counts: Counter[tuple[uuid.UUID, str]] = Counter()
        self._seen: dict[tuple[uuid.UUID, str], datetime] = {}

    def add(self, queue_id: uuid.UUID, counts: dict[str, int]) -> None:
        """Counts committed messages of `queue_id`: how many of each type."""
        now = utcnow()
        for name, count in counts.items():
            key = (queue_id, name)
            if key not in self._counts and len(self._counts) >= MAX_PENDING:
                continue
            self._counts[key] += count
            self._seen[key] = now

    async def flush(self) -> None:
        if not self._counts:
            return
        counts, seen = self._counts, self._seen
        self._counts, self._seen = Counter(), {}
        keys = sorted(counts)
        await self._pool.execute(
            ADD_COUNTS,
            [queue_id for queue_id, _ in keys],
            [name for _, name in keys],
            [counts[key] for key in keys],
            [seen[key] for key in keys],
        )
