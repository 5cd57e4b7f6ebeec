"""What the console shows of activity: deliveries per time bin by outcome with response-time
percentiles (from delivery_minutes), ingest rates (from ingest_minutes), and each
listener's backlog read from its pending deliveries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import utcnow
from service.db.models.activity import LATENCY_BOUNDS_MS
from service.deliveries.state import PENDING
from service.stats.minutes import BUCKETS

Window = Literal["hour", "day"]
WINDOWS: dict[Window, tuple[timedelta, timedelta]] = {  # span, bin
    "hour": (timedelta(hours=1), timedelta(minutes=1)),
    "day": (timedelta(days=1), timedelta(minutes=15)),
}
RATE_SPAN = timedelta(minutes=5)  # ingest rates are averaged over the last five minutes
# A listener's backlog is counted up to this many deliveries (an index range each), so a
# page stays fast whatever a tenant has queued; /metrics has the exact figure.
BACKLOG_CAP = 10_000

CHART = f"""
    SELECT date_bin(:bin, minute, :origin) AS bin,
           sum(delivered)::bigint AS delivered, sum(retried)::bigint AS retried,
           sum(failed)::bigint AS failed, {", ".join(f"sum({b})::bigint AS {b}" for b in BUCKETS)}
      FROM delivery_minutes
     WHERE org_id = :org_id AND minute >= :origin
       AND (CAST(:queue_id AS uuid) IS NULL OR queue_id = :queue_id)
       AND (CAST(:listener_id AS uuid) IS NULL OR listener_id = :listener_id)
     GROUP BY 1
"""
INGEST_RATES = """
    SELECT queue_id, sum(messages)::bigint AS messages FROM ingest_minutes
     WHERE org_id = :org_id AND minute >= :since
     GROUP BY queue_id
"""
SUCCESS = """
    SELECT listener_id, sum(delivered)::bigint AS delivered,
           sum(delivered + retried + failed)::bigint AS attempts
      FROM delivery_minutes
     WHERE org_id = :org_id AND minute >= :since
       AND (CAST(:queue_id AS uuid) IS NULL OR queue_id = :queue_id)
     GROUP BY listener_id
"""
LISTENER_STATE = f"""
    SELECT l.id, l.queue_id, l.status, l.failing_since IS NOT NULL AS failing,
           l.liveness_url IS NOT NULL AND l.health_state = 'unreachable' AS unreachable,
           b.pending, b.oldest
      FROM listeners l
      CROSS JOIN LATERAL (
          SELECT count(*) AS pending, min(created_at) AS oldest FROM (
              SELECT created_at FROM deliveries d
               WHERE d.listener_id = l.id AND d.status = '{PENDING}'
               ORDER BY d.next_attempt_at
               LIMIT {BACKLOG_CAP + 1}
          ) p
      ) b
     WHERE l.org_id = :org_id AND l.deleted_at IS NULL
       AND (CAST(:queue_id AS uuid) IS NULL OR l.queue_id = :queue_id)
"""


@dataclass(frozen=True)
class ChartBin:
    start: datetime
    delivered: int
    retried: int
    failed: int
    p50_ms: float | None
    p99_ms: float | None

    @property
    def attempts(self) -> int:
        return self.delivered + self.retried + self.failed


@dataclass(frozen=True)
class Chart:
    window: Window
    bin_minutes: int
    bins: list[ChartBin]

    @property
    def peak(self) -> int:
        return max((b.attempts for b in self.bins), default=0)

    @property
    def peak_ms(self) -> float:
        return max((b.p99_ms or 0.0 for b in self.bins), default=0.0)

    @property
    def totals(self) -> dict[str, int]:
        return {
            outcome: sum(getattr(b, outcome) for b in self.bins)
            for outcome in ("delivered", "retried", "failed")
        }


@dataclass(frozen=True)
class ListenerActivity:
    pending: int  # at most BACKLOG_CAP + 1: more than the cap
    oldest_pending: datetime | None  # among the pending deliveries counted
    success_rate: float | None  # delivered attempts / attempts, over the window asked
    status: str = "active"
    failing: bool = False
    unreachable: bool = False

    @property
    def pending_capped(self) -> bool:
        return self.pending > BACKLOG_CAP


@dataclass(frozen=True)
class QueueActivity:
    messages_per_minute: float
    listeners: int
    pending: int
    pending_capped: bool
    failing: int
    unreachable: int
    disabled: int


class ActivityStats:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def chart(
        self,
        org_id: uuid.UUID,
        window: Window,
        *,
        queue_id: uuid.UUID | None = None,
        listener_id: uuid.UUID | None = None,
    ) -> Chart:
        """Every bin of the window, oldest first (empty bins included)."""
        span, step = WINDOWS[window]
        now = utcnow()
        origin = _floor(now - span + step, step)
        rows = await self._rows(
            CHART,
            org_id=org_id,
            bin=step,
            origin=origin,
            queue_id=queue_id,
            listener_id=listener_id,
        )
        by_bin = {row["bin"]: row for row in rows}
        bins = []
        start = origin
        while start <= now:
            row = by_bin.get(start)
            bins.append(_bin(start, row) if row else ChartBin(start, 0, 0, 0, None, None))
            start += step
        return Chart(window, int(step.total_seconds() // 60), bins)

    async def queues(self, org_id: uuid.UUID) -> dict[uuid.UUID, QueueActivity]:
        """Per queue of the organization that has listeners or recent messages."""
        rates = {
            row["queue_id"]: row["messages"]
            for row in await self._rows(INGEST_RATES, org_id=org_id, since=_rate_since())
        }
        listeners: dict[uuid.UUID, list[Any]] = {queue_id: [] for queue_id in rates}
        for row in await self._rows(LISTENER_STATE, org_id=org_id, queue_id=None):
            listeners.setdefault(row["queue_id"], []).append(row)
        minutes = RATE_SPAN.total_seconds() / 60
        return {
            queue_id: QueueActivity(
                messages_per_minute=rates.get(queue_id, 0) / minutes,
                listeners=len(rows),
                pending=sum(min(row["pending"], BACKLOG_CAP) for row in rows),
                pending_capped=any(row["pending"] > BACKLOG_CAP for row in rows),
                failing=sum(1 for row in rows if row["failing"] and row["status"] == "active"),
                unreachable=sum(1 for row in rows if row["unreachable"]),
                disabled=sum(1 for row in rows if row["status"] == "disabled"),
            )
            for queue_id, rows in listeners.items()
        }

    async def listeners(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, window: Window = "hour"
    ) -> dict[uuid.UUID, ListenerActivity]:
        """Each listener's state and backlog, and its success rate over `window`."""
        since = utcnow() - WINDOWS[window][0]
        success = {
            row["listener_id"]: row["delivered"] / row["attempts"] if row["attempts"] else None
            for row in await self._rows(SUCCESS, org_id=org_id, queue_id=queue_id, since=since)
        }
        return {
            row["id"]: ListenerActivity(
                pending=row["pending"],
                oldest_pending=row["oldest"],
                success_rate=success.get(row["id"]),
                status=row["status"],
                failing=row["failing"],
                unreachable=row["unreachable"],
            )
            for row in await self._rows(LISTENER_STATE, org_id=org_id, queue_id=queue_id)
        }

    async def _rows(self, statement: str, **params: Any) -> list[Any]:
        result = await self.session.execute(text(statement), params)
        return list(result.mappings())


def percentile(q: float, total: int, cumulative: list[int]) -> float | None:
    """The q-quantile of response times from the cumulative bucket counts (linear within
    a bucket); the last bound when it lies beyond it."""
    if total <= 0:
        return None
    target = q * total
    lower, below = 0.0, 0
    for bound, count in zip(LATENCY_BOUNDS_MS, cumulative, strict=True):
        if count >= target:
            share = (target - below) / (count - below) if count > below else 1.0
            return lower + (bound - lower) * share
        lower, below = float(bound), count
    return float(LATENCY_BOUNDS_MS[-1])


def _bin(start: datetime, row: Any) -> ChartBin:
    total = row["delivered"] + row["retried"] + row["failed"]
    cumulative = [row[b] for b in BUCKETS]
    return ChartBin(
        start=start,
        delivered=row["delivered"],
        retried=row["retried"],
        failed=row["failed"],
        p50_ms=percentile(0.5, total, cumulative),
        p99_ms=percentile(0.99, total, cumulative),
    )


def _floor(at: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=at.tzinfo)
    return at - (at - epoch) % step


def _rate_since() -> datetime:
    return _floor(utcnow(), timedelta(minutes=1)) - RATE_SPAN + timedelta(minutes=1)
