"""Claiming due deliveries with a lease, and giving back the ones not sent (asyncpg).

Claim, send, record are three steps: the claim commits before any network I/O.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg

# $1 is the listener, $2 its queue: the keys of both tables start with them. Every row is
# found by its key (an ANY array or a scalar subquery, a LATERAL lookup per claimed row;
# OFFSET 0 keeps it from being flattened), never by a join the planner may reorder: with
# statistics that had not seen a new listener's rows yet, the UPDATE ... FROM due join ran
# as a nested loop over all of the listener's deliveries for every claimed one (2.4 s per
# 256-row claim on 20,000 deliveries; as key lookups 10 ms), and a join to messages as a
# hash join over the queue's messages.
CLAIMED_COLUMNS = """
    SELECT c.message_id, c.attempts, c.retry_base, m.content_type, m.original_headers, m.body
      FROM claimed c
      CROSS JOIN LATERAL (
          SELECT content_type, original_headers, body FROM messages
           WHERE queue_id = $2 AND id = c.message_id
          OFFSET 0
      ) m
"""

CLAIM_DUE = (
    """
    WITH due AS (
        SELECT message_id FROM deliveries
         WHERE listener_id = $1 AND status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at
         LIMIT $3
         FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE deliveries d
           SET status = 'in_flight', attempts = d.attempts + 1,
               lease_expires_at = now() + make_interval(secs => $4)
         WHERE d.listener_id = $1 AND d.message_id = ANY(ARRAY(SELECT message_id FROM due))
        RETURNING d.message_id, d.attempts, d.retry_base
    )
    """
    + CLAIMED_COLUMNS
)

# Ordered listeners: only the oldest unfinished delivery may go, and only when it is due.
# The listener row lock serialises concurrent claimers of the same listener.
CLAIM_OLDEST = (
    """
    WITH owner AS (
        SELECT id FROM listeners WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED
    ), oldest AS (
        SELECT d.message_id, d.status, d.next_attempt_at FROM deliveries d, owner
         WHERE d.listener_id = owner.id AND d.ordered AND d.status IN ('pending', 'in_flight')
         ORDER BY d.message_id
         LIMIT 1
    ), claimed AS (
        UPDATE deliveries d
           SET status = 'in_flight', attempts = d.attempts + 1,
               lease_expires_at = now() + make_interval(secs => $3)
         WHERE d.listener_id = $1
           AND d.message_id = (SELECT message_id FROM oldest
                                WHERE status = 'pending' AND next_attempt_at <= now())
        RETURNING d.message_id, d.attempts, d.retry_base
    )
    """
    + CLAIMED_COLUMNS
)

RELEASE = """
    UPDATE deliveries
       SET status = 'pending', attempts = attempts - 1, lease_expires_at = NULL,
           next_attempt_at = now()
     WHERE listener_id = $1 AND message_id = ANY($2::uuid[]) AND status = 'in_flight'
"""


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
        )
        for row in rows
    ]


async def claim_due(
    pool: asyncpg.Pool, listener_id: uuid.UUID, queue_id: uuid.UUID, limit: int, lease_s: float
) -> list[ClaimedDelivery]:
    """Up to `limit` due deliveries, oldest due first, leased for `lease_s` seconds."""
    rows = await pool.fetch(CLAIM_DUE, listener_id, queue_id, limit, lease_s)
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
