"""Claiming due deliveries with a lease, and giving back the ones not sent: the statements
of service/deliveries/state.py on the worker's asyncpg pool.

Claim, send, record are three steps: the claim commits before any network I/O.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg

from service.deliveries.state import CLAIM_DUE, CLAIM_OLDEST, RELEASE


# Slots and not frozen, like the other per-attempt records (SinkResult, Outcome, Decision):
# a frozen dataclass takes five times as long to build, and these are built per attempt.
@dataclass(slots=True)
class ClaimedDelivery:
    message_id: uuid.UUID
    queue_id: uuid.UUID
    attempt: int
    retry_base: int
    content_type: str
    body: bytes | None
    original_headers: dict[str, str] | None
    event_type: str | None = None

    @property
    def id(self) -> uuid.UUID:
        """Within its listener a delivery is named by its message (migration 0006)."""
        return self.message_id


def _claimed(queue_id: uuid.UUID, rows: list[asyncpg.Record]) -> list[ClaimedDelivery]:
    return [
        ClaimedDelivery(
            message_id=row["message_id"],
            queue_id=queue_id,
            attempt=row["attempts"],
            retry_base=row["retry_base"],
            content_type=row["content_type"],
            body=row["body"],
            original_headers=json.loads(row["original_headers"])
            if row["original_headers"]
            else None,
            event_type=row["event_type"],
        )
        for row in rows
    ]


async def claim_due(
    pool: asyncpg.Pool,
    listener_id: uuid.UUID,
    queue_id: uuid.UUID,
    limit: int,
    lease_s: float,
    max_bytes: int,
) -> list[ClaimedDelivery]:
    """Up to `limit` due deliveries, oldest due first, leased for `lease_s` seconds, with
    bodies of at most `max_bytes` in all (or one delivery, whatever its size)."""
    rows = await pool.fetch(CLAIM_DUE, listener_id, queue_id, limit, lease_s, max_bytes)
    return _claimed(queue_id, rows)


async def claim_oldest(
    pool: asyncpg.Pool, listener_id: uuid.UUID, queue_id: uuid.UUID, lease_s: float
) -> list[ClaimedDelivery]:
    """The oldest unfinished delivery when it is due and no other is in flight, else nothing."""
    return _claimed(queue_id, await pool.fetch(CLAIM_OLDEST, listener_id, queue_id, lease_s))


async def release(
    pool: asyncpg.Pool, listener_id: uuid.UUID, delivery_ids: list[uuid.UUID]
) -> None:
    """Gives unsent deliveries back at once, without spending their attempt."""
    if delivery_ids:
        await pool.execute(RELEASE, listener_id, delivery_ids)
