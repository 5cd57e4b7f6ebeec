"""The sweeper: returns deliveries whose lease ran out (a worker died) to pending."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

RELEASE_EXPIRED_LEASES = text(
    """
    UPDATE deliveries
       SET status = 'pending', lease_expires_at = NULL, next_attempt_at = now()
     WHERE id IN (
        SELECT id FROM deliveries
         WHERE status = 'in_flight' AND lease_expires_at < now()
         ORDER BY lease_expires_at
         LIMIT :batch
         FOR UPDATE SKIP LOCKED)
    """
)
BATCH = 1000


async def sweep(ctx: dict[str, Any]) -> int:
    """Releases expired leases in bounded batches; returns how many deliveries it released."""
    released = 0
    while True:
        async with ctx["sessionmaker"]() as session, session.begin():
            result = await session.execute(RELEASE_EXPIRED_LEASES, {"batch": BATCH})
        count = int(getattr(result, "rowcount", 0) or 0)
        released += count
        if count < BATCH:
            return released
