"""Activity figures: per-minute counts from several processes add up, the console's chart
reads them with their response-time percentiles, and old minutes are purged (real
Postgres)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.config import Settings
from service.db.base import utcnow
from service.db.engine import create_pg_pool
from service.deliveries.state import DELIVERED, FAILED, PENDING
from service.stats.activity import ActivityStats, percentile
from service.stats.minutes import DeliveryMinutes, IngestMinutes, purge_old_minutes
from tests.conftest import Org


def test_percentiles_interpolate_within_their_bucket() -> None:
    # 100 attempts: 50 within 10 ms, 40 more within 25 ms, the last 10 within 100 ms.
    cumulative = [50, 90, 90, 100, 100, 100, 100, 100, 100, 100, 100]
    assert percentile(0.5, 100, cumulative) == 10.0
    assert percentile(0.25, 100, cumulative) == 5.0
    assert percentile(0.99, 100, cumulative) == 95.0  # 9 of the 10 between 50 and 100 ms
    assert percentile(0.99, 10, [0] * 11) == 30000.0  # slower than every bound
    assert percentile(0.5, 0, [0] * 11) is None


async def test_two_processes_counts_add_up_and_the_chart_reads_them(
    org: Org, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    queue = await org.create_queue()
    listener = uuid.UUID((await org.create_listener(queue["id"]))["id"])
    now = time.time()
    pool = await create_pg_pool(settings, max_size=2, name="test-activity")
    try:
        for _ in range(2):  # two worker processes, each flushing its own counts
            minutes = DeliveryMinutes(pool)
            minutes.add([(listener, DELIVERED, now, 8)] * 3)
            minutes.add([(listener, PENDING, now, 40), (listener, FAILED, now, 20_000)])
            await minutes.flush()
        ingested = IngestMinutes(pool)
        ingested.add(org.id, uuid.UUID(queue["id"]), 7)
        await ingested.flush()

        async with sessionmaker() as session:
            stats = ActivityStats(session)
            chart = await stats.chart(org.id, "hour", queue_id=uuid.UUID(queue["id"]))
            assert len(chart.bins) == 60
            assert chart.totals == {"delivered": 6, "retried": 2, "failed": 2}
            last = next(b for b in chart.bins if b.attempts)  # the minute of `now`
            assert last.attempts == 10 and last.p50_ms is not None and last.p50_ms <= 10
            assert last.p99_ms is not None and last.p99_ms > 10_000
            queues = await stats.queues(org.id)
            assert queues[uuid.UUID(queue["id"])].messages_per_minute == 7 / 5
            listeners = await stats.listeners(org.id, uuid.UUID(queue["id"]))
            assert listeners[listener].success_rate == 0.6
            other = await stats.chart(uuid.uuid4(), "day")  # another organization sees none
            assert other.totals == {"delivered": 0, "retried": 0, "failed": 0}

        async with sessionmaker() as session, session.begin():
            await session.execute(
                text("UPDATE delivery_minutes SET minute = :old WHERE listener_id = :id"),
                {"old": utcnow() - timedelta(days=9), "id": listener},
            )
        await purge_old_minutes(pool)
        left = await pool.fetchval(
            "SELECT count(*) FROM delivery_minutes WHERE listener_id = $1", listener
        )
        assert left == 0
        kept = await pool.fetchval(
            "SELECT count(*) FROM ingest_minutes WHERE queue_id = $1", uuid.UUID(queue["id"])
        )
        assert kept == 1
    finally:
        await pool.close()
