"""Counting activity per minute without a write per request or per attempt: each process
adds up what it committed and writes the sums once a second (one statement per table).
Like the event type catalog, counts a process had not written when it died are lost: the
figures are a guide, not a ledger."""

from __future__ import annotations

import time
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import accumulate

import asyncpg

from service.db.models.activity import LATENCY_BOUNDS_MS
from service.deliveries.state import DELIVERED, PENDING
from service.lib.periodic_flush import PeriodicFlush

FLUSH_EVERY_S = 1.0
KEPT_DAYS = 8  # the console charts a day at most; a week back is kept for comparison
MAX_PENDING = 10_000  # distinct (queue or listener, minute) pairs held between writes
BUCKETS = tuple(f"le_{bound}" for bound in LATENCY_BOUNDS_MS)
OUTCOMES = ("delivered", "retried", "failed")

# Sorted by key, so that two processes writing the same rows lock them in the same order.
ADD_INGESTED = """
    INSERT INTO ingest_minutes (queue_id, minute, org_id, messages)
    SELECT u.queue_id, u.minute, u.org_id, u.messages
      FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::bigint[])
           AS u(queue_id, minute, org_id, messages)
     ORDER BY u.queue_id, u.minute
    ON CONFLICT (queue_id, minute) DO UPDATE
       SET messages = ingest_minutes.messages + EXCLUDED.messages
"""
_COLUMNS = (*OUTCOMES, *BUCKETS)
ADD_ATTEMPTS = f"""
    INSERT INTO delivery_minutes (listener_id, minute, org_id, queue_id, {", ".join(_COLUMNS)})
    SELECT u.listener_id, u.minute, l.org_id, l.queue_id, {", ".join(f"u.{c}" for c in _COLUMNS)}
      FROM unnest($1::uuid[], $2::timestamptz[],
                  {", ".join(f"${i}::bigint[]" for i in range(3, 3 + len(_COLUMNS)))})
           AS u(listener_id, minute, {", ".join(_COLUMNS)})
      JOIN listeners l ON l.id = u.listener_id
     ORDER BY u.listener_id, u.minute
    ON CONFLICT (listener_id, minute) DO UPDATE
       SET {", ".join(f"{c} = delivery_minutes.{c} + EXCLUDED.{c}" for c in _COLUMNS)}
"""


def _minute(at: float) -> datetime:
    return datetime.fromtimestamp(at - at % 60, UTC)


class IngestMinutes(PeriodicFlush):
    """Messages committed per queue and minute (API processes)."""

    every_s = FLUSH_EVERY_S
    what = "ingest counts per minute"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._counts: Counter[tuple[uuid.UUID, datetime]] = Counter()
        self._orgs: dict[uuid.UUID, uuid.UUID] = {}

    def add(self, org_id: uuid.UUID, queue_id: uuid.UUID, messages: int) -> None:
        key = (queue_id, _minute(time.time()))
        if key in self._counts or len(self._counts) < MAX_PENDING:
            self._counts[key] += messages
            self._orgs[queue_id] = org_id

    async def flush(self) -> None:
        if not self._counts:
            return
        counts, orgs = self._counts, self._orgs
        self._counts, self._orgs = Counter(), {}
        keys = sorted(counts)
        await self._pool.execute(
            ADD_INGESTED,
            [queue_id for queue_id, _ in keys],
            [minute for _, minute in keys],
            [orgs[queue_id] for queue_id, _ in keys],
            [counts[key] for key in keys],
        )


class DeliveryMinutes(PeriodicFlush):
    """Recorded attempts per listener and minute, by the delivery's outcome (delivered;
    retried: failed and scheduled again; failed: given up), with their response times."""

    every_s = FLUSH_EVERY_S
    what = "attempt counts per minute"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # (listener, unix minute) -> outcome counts, then one count per response-time
        # bucket (made cumulative when written): a few operations per attempt.
        self._counts: dict[tuple[uuid.UUID, int], list[int]] = {}

    def add(self, attempts: Iterable[tuple[uuid.UUID, str, float, int]]) -> None:
        """(listener, the delivery's status after the attempt, started at, duration ms)."""
        outcomes = len(OUTCOMES)
        for listener_id, status, started_at, duration_ms in attempts:
            key = (listener_id, int(started_at // 60))
            counts = self._counts.get(key)
            if counts is None:
                if len(self._counts) >= MAX_PENDING:
                    continue
                counts = self._counts[key] = [0] * (len(_COLUMNS) + 1)
            counts[0 if status == DELIVERED else 1 if status == PENDING else 2] += 1
            counts[outcomes + bisect_left(LATENCY_BOUNDS_MS, duration_ms)] += 1

    async def flush(self) -> None:
        if not self._counts:
            return
        counts, self._counts = self._counts, {}
        keys = sorted(counts)
        rows = [_cumulative(counts[key]) for key in keys]
        columns = [[row[i] for row in rows] for i in range(len(_COLUMNS))]
        await self._pool.execute(
            ADD_ATTEMPTS,
            [listener_id for listener_id, _ in keys],
            [datetime.fromtimestamp(minute * 60, UTC) for _, minute in keys],
            *columns,
        )


def _cumulative(counts: list[int]) -> list[int]:
    """Outcome counts, then le_N: the attempts answered within each bound (the last of
    `counts`, slower than every bound, is in no le_N)."""
    outcomes = len(OUTCOMES)
    buckets = counts[outcomes:-1]
    return counts[:outcomes] + list(accumulate(buckets))


async def purge_old_minutes(pool: asyncpg.Pool) -> None:
    """Deletes activity older than KEPT_DAYS (an hourly worker cron)."""
    for table in ("ingest_minutes", "delivery_minutes"):
        await pool.execute(
            f"DELETE FROM {table} WHERE minute < now() - make_interval(days => {KEPT_DAYS})"
        )
