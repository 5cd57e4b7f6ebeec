"""Liveness probes (arq cron, every second): GET each due liveness_url, 2xx in time = live.

After the threshold of failed probes a listener is `unreachable` and its deliveries wait
without spending attempts; the first good probe makes it live and wakes its drain.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import structlog

from service.lib.metrics import LIVENESS_PROBES
from service.lib.ssrf import UnsafeTarget, check_target
from workers.context import WorkerContext

log = structlog.get_logger("herald.liveness")

CLAIM_DUE_PROBES = """
    UPDATE listeners SET health_checked_at = now()
     WHERE id IN (
        SELECT id FROM listeners
         WHERE liveness_url IS NOT NULL AND deleted_at IS NULL AND status <> 'disabled'
           AND (health_checked_at IS NULL
                OR health_checked_at <= now() - make_interval(secs => $1))
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
    RETURNING id, liveness_url
"""
PROBE_OK = """
    UPDATE listeners
       SET health_state = 'live', health_consecutive_failures = 0, health_checked_at = now()
     WHERE id = $1
    RETURNING (SELECT health_state FROM listeners WHERE id = $1) AS previous
"""
PROBE_FAILED = """
    UPDATE listeners
       SET health_consecutive_failures = health_consecutive_failures + 1,
           health_checked_at = now(),
           health_state = CASE WHEN health_consecutive_failures + 1 >= $2 THEN 'unreachable'
                               ELSE health_state END
     WHERE id = $1
"""
BATCH = 200
# A little less than the interval, so a probe due now is not skipped by a few milliseconds.
DUE_SLACK_S = 0.2


async def probe_liveness(ctx: dict[str, Any]) -> int:
    herald: WorkerContext = ctx["herald"]
    settings = herald.settings
    due = await herald.pool.fetch(
        CLAIM_DUE_PROBES, max(0.0, settings.liveness_interval_s - DUE_SLACK_S), BATCH
    )
    results = await asyncio.gather(*(_probe(herald, row["liveness_url"]) for row in due))
    recovered: list[uuid.UUID] = []
    for row, live in zip(due, results, strict=True):
        LIVENESS_PROBES.labels("ok" if live else "failed").inc()
        if live:
            previous = await herald.pool.fetchval(PROBE_OK, row["id"])
            if previous == "unreachable":
                log.info("listener live again", listener_id=str(row["id"]))
                recovered.append(row["id"])
        else:
            log.info("liveness probe failed", listener_id=str(row["id"]), url=row["liveness_url"])
            await herald.pool.execute(PROBE_FAILED, row["id"], settings.liveness_failure_threshold)
    if recovered:
        await herald.waker.wake_now(recovered)
    return len(due)


async def _probe(herald: WorkerContext, url: str) -> bool:
    settings = herald.settings
    try:
        await check_target(url, allow_private=settings.allow_private_targets)
        response = await herald.probe_client.get(url, timeout=settings.liveness_timeout_s)
    except (httpx.HTTPError, UnsafeTarget, OSError):
        return False
    return 200 <= response.status_code < 300
