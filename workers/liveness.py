"""Liveness probes (every second, workers/crons.py): GET each due liveness_url through the egress,
2xx within the probe's one deadline = live.

After the threshold of failed probes a listener is `unreachable` and its deliveries wait
without spending attempts; the first good probe makes it live and wakes its drain.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog

from service.lib.metrics import LIVENESS_PROBES
from service.lib.ssrf import UnsafeTarget
from service.lib.targets import parse_target
from service.operational_events.outbox import LISTENER_DATA, OperationalEvent, emit
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
# $1 the listener. Live again: the transition (from unreachable) is its own UPDATE, whose
# WHERE is checked again on the latest row when two probes race, so it happens once.
PROBE_OK = f"""
    WITH recovered AS (
        UPDATE listeners
           SET health_state = 'live', health_consecutive_failures = 0, health_checked_at = now()
         WHERE id = $1 AND health_state = 'unreachable'
        RETURNING id AS listener_id, org_id, queue_id, name
    ), event AS ({emit("recovered", OperationalEvent.LISTENER_RECOVERED, LISTENER_DATA)}
    ), live AS (
        UPDATE listeners
           SET health_state = 'live', health_consecutive_failures = 0, health_checked_at = now()
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM recovered)
    )
    SELECT count(*) > 0 FROM recovered
"""
# $1 the listener, $2 the failures in a row that make it unreachable.
PROBE_FAILED = f"""
    WITH unreachable AS (
        UPDATE listeners
           SET health_consecutive_failures = health_consecutive_failures + 1,
               health_checked_at = now(), health_state = 'unreachable'
         WHERE id = $1 AND health_state <> 'unreachable'
           AND health_consecutive_failures + 1 >= $2
        RETURNING id AS listener_id, org_id, queue_id, name, health_consecutive_failures
    ), event AS ({
        emit("unreachable", OperationalEvent.LISTENER_UNREACHABLE,
             LISTENER_DATA + ", 'consecutive_failures', r.health_consecutive_failures")
    }), failed AS (
        UPDATE listeners
           SET health_consecutive_failures = health_consecutive_failures + 1,
               health_checked_at = now()
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM unreachable)
    )
    SELECT count(*) FROM unreachable
"""  # fmt: skip
BATCH = 200
# A little less than the interval, so a probe due now is not skipped by a few milliseconds.
DUE_SLACK_S = 0.2


async def probe_liveness(herald: WorkerContext) -> int:
    settings = herald.settings
    due = await herald.pool.fetch(
        CLAIM_DUE_PROBES, max(0.0, settings.liveness_interval_s - DUE_SLACK_S), BATCH
    )
    results = await asyncio.gather(
        *(_probe_and_record(herald, row["id"], row["liveness_url"]) for row in due),
        return_exceptions=True,
    )
    recovered = [row["id"] for row, result in zip(due, results, strict=True) if result is True]
    for result in results:
        if isinstance(result, BaseException):
            log.error("recording a liveness probe failed", exc_info=result)
    if recovered:
        await herald.waker.wake_now(recovered)
    return len(due)


async def _probe_and_record(herald: WorkerContext, listener_id: uuid.UUID, url: str) -> bool:
    """Probes one listener and records the result; True when it was unreachable and is
    live again."""
    failure = await _probe(herald, url)
    LIVENESS_PROBES.labels("ok" if failure is None else "failed").inc()
    if failure is None:
        if await herald.pool.fetchval(PROBE_OK, listener_id):
            log.info("listener live again", listener_id=str(listener_id))
            return True
        return False
    log.info("liveness probe failed", listener_id=str(listener_id), reason=failure)
    await herald.pool.execute(PROBE_FAILED, listener_id, herald.settings.liveness_failure_threshold)
    return False


async def _probe(herald: WorkerContext, url: str) -> str | None:
    """None when the listener answered 2xx in time, else why not. Never raises: whatever
    goes wrong is this probe's failure, not its batch's."""
    try:
        target = parse_target(url)
        return await herald.egress.probe(target, herald.settings.liveness_timeout_s)
    except UnsafeTarget as exc:
        return f"blocked: {exc}"
    except Exception as exc:
        log.warning("liveness probe raised", exc_info=True)
        return f"{type(exc).__name__}: {exc}"
