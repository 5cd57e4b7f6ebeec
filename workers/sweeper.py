"""The sweeper (every second, workers/crons.py): recovers whatever Redis lost or a dead worker left.

- leases that ran out go back to pending (the worker holding them died);
- listeners with due work get their drain enqueued (deduplicated by job id), which
  also restarts drains after a Redis FLUSHALL or restart, retries that came due, circuits
  that cooled down;
- listeners failing for longer than the limit are disabled;
- a listener made ordered in the last minute gets the flag on pending deliveries that an
  ingest statement wrote from the listener as it was before (migration 0007).
"""

from __future__ import annotations

from service.deliveries.state import EXPIRE_LEASES, ORDERED_STRAGGLERS, PENDING
from service.operational_events.outbox import LISTENER_DATA, OperationalEvent, emit
from workers.context import WorkerContext

LISTENERS_WITH_DUE_WORK = f"""
    SELECT l.id FROM listeners l
     WHERE l.status = 'active' AND l.deleted_at IS NULL AND l.health_state <> 'unreachable'
       AND (l.circuit_open_until IS NULL OR l.circuit_open_until <= now())
       AND EXISTS (SELECT 1 FROM deliveries d
                    WHERE d.listener_id = l.id AND d.status = '{PENDING}'
                      AND d.next_attempt_at <= now())
"""
DISABLE_LONG_FAILING = f"""
    WITH disabled AS (
        UPDATE listeners
           SET status = 'disabled', updated_at = now(),
               disabled_reason = 'every delivery failed for ' || $1::text || ' seconds'
         WHERE status = 'active' AND deleted_at IS NULL
           AND failing_since < now() - make_interval(secs => $1::float8)
        RETURNING id AS listener_id, org_id, queue_id, name, disabled_reason
    ), event AS ({
        emit("disabled", OperationalEvent.LISTENER_DISABLED,
             LISTENER_DATA + ", 'reason', r.disabled_reason")
    })
    SELECT count(*) FROM disabled
"""  # fmt: skip
# Only listeners changed lately: the race it closes lasts one ingest statement. Listeners
# are picked first, so that deliveries are only ever read through their listener's key.
RECENTLY_ORDERED = """
    SELECT id FROM listeners WHERE ordered AND updated_at > now() - interval '1 minute'
"""
BATCH = 1000


async def sweep(herald: WorkerContext) -> dict[str, int]:
    """Returns what it did."""
    released = 0
    while True:
        status = await herald.pool.execute(EXPIRE_LEASES, BATCH)
        count = int(status.split()[-1])
        released += count
        if count < BATCH:
            break
    if recent := [row["id"] for row in await herald.pool.fetch(RECENTLY_ORDERED)]:
        await herald.pool.execute(ORDERED_STRAGGLERS, recent)
    disabled = await herald.pool.fetchval(
        DISABLE_LONG_FAILING, herald.settings.disable_after_failing_s
    )
    rows = await herald.pool.fetch(LISTENERS_WITH_DUE_WORK)
    await herald.waker.wake_now(row["id"] for row in rows)
    return {"released": released, "woken": len(rows), "disabled": disabled}
