"""Per-listener gauges read from Postgres at scrape time: backlog, oldest pending age,
liveness state. Postgres owns delivery state, so every API process reports the same."""

from __future__ import annotations

import time

import asyncpg
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from service.deliveries.state import IN_FLIGHT, PENDING

# Pending deliveries through ix_deliveries_due, in-flight ones through ix_deliveries_lease
# (few): never a walk over a listener's delivered history.
LISTENER_GAUGES = f"""
    SELECT l.id, l.queue_id, l.health_state, p.pending, p.oldest,
           (SELECT count(*) FROM deliveries d
             WHERE d.lease_expires_at IS NOT NULL AND d.listener_id = l.id
               AND d.status = '{IN_FLIGHT}') AS in_flight
      FROM listeners l
      LEFT JOIN LATERAL (
          SELECT count(*) AS pending, min(d.created_at) AS oldest
            FROM deliveries d
           WHERE d.listener_id = l.id AND d.status = '{PENDING}'
      ) p ON true
     WHERE l.deleted_at IS NULL
"""
HEALTH_STATES = ("live", "unreachable", "unknown")


async def listener_gauges(pool: asyncpg.Pool) -> list[Metric]:
    backlog = GaugeMetricFamily(
        "herald_listener_backlog",
        "Deliveries not yet finished, by status (pending, in_flight).",
        labels=["queue_id", "listener_id", "status"],
    )
    oldest = GaugeMetricFamily(
        "herald_listener_oldest_pending_age_seconds",
        "How long the listener's longest-waiting pending delivery has waited (0 when none).",
        labels=["queue_id", "listener_id"],
    )
    health = GaugeMetricFamily(
        "herald_listener_health",
        "1 for the listener's liveness state (live, unreachable, unknown), 0 for the others.",
        labels=["queue_id", "listener_id", "state"],
    )
    now = time.time()
    for row in await pool.fetch(LISTENER_GAUGES):
        ids = [str(row["queue_id"]), str(row["id"])]
        backlog.add_metric([*ids, PENDING], row["pending"] or 0)
        backlog.add_metric([*ids, IN_FLIGHT], row["in_flight"] or 0)
        age = max(0.0, now - row["oldest"].timestamp()) if row["oldest"] else 0.0
        oldest.add_metric(ids, age)
        for state in HEALTH_STATES:
            health.add_metric([*ids, state], 1.0 if row["health_state"] == state else 0.0)
    return [backlog, oldest, health]
