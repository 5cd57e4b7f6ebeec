"""SQL for the deliveries API: listings, attempts, manual retry and replay."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Attempt, Delivery

RETRYABLE = ("failed", "cancelled", "delivered")

# Deliveries of the window that did not get through, started again with a fresh schedule.
REPLAY_EXISTING = text(
    """
    UPDATE deliveries d
       SET status = 'pending', next_attempt_at = now(), retry_base = d.attempts,
           lease_expires_at = NULL, ordered = :ordered
      FROM messages m
     WHERE m.queue_id = :queue_id AND m.received_at >= :since AND m.received_at < :until
       AND d.listener_id = :listener_id AND d.message_id = m.id
       AND d.status = ANY(CAST(:statuses AS text[]))
    """
)
# Messages of the window the listener never got a delivery for (it was disabled, or not yet
# registered): they get one now.
MISSED_MESSAGES = text(
    """
    SELECT m.id FROM messages m
     WHERE m.queue_id = :queue_id AND m.received_at >= :since AND m.received_at < :until
       AND NOT EXISTS (SELECT 1 FROM deliveries d
                        WHERE d.listener_id = :listener_id AND d.message_id = m.id)
     ORDER BY m.id
    """
)
INSERT_DELIVERIES = text(
    """
    INSERT INTO deliveries (message_id, listener_id, ordered, status, attempts, retry_base,
                            next_attempt_at, created_at)
    SELECT d.message_id, :listener_id, :ordered, 'pending', 0, 0, now(), now()
      FROM unnest(CAST(:message_ids AS uuid[])) AS d(message_id)
    """
)


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, listener_id: uuid.UUID, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[Delivery]:
        query = select(Delivery).where(Delivery.listener_id == listener_id)
        if status is not None:
            query = query.where(Delivery.status == status)
        if after is not None:
            query = query.where(Delivery.message_id > after)
        result = await self.session.execute(query.order_by(Delivery.message_id).limit(limit + 1))
        return list(result.scalars())

    async def get(self, listener_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery | None:
        result = await self.session.execute(
            select(Delivery).where(
                Delivery.listener_id == listener_id, Delivery.message_id == delivery_id
            )
        )
        return result.scalar_one_or_none()

    async def attempts(self, listener_id: uuid.UUID, delivery_id: uuid.UUID) -> list[Attempt]:
        result = await self.session.execute(
            select(Attempt)
            .where(Attempt.listener_id == listener_id, Attempt.message_id == delivery_id)
            .order_by(Attempt.number)
        )
        return list(result.scalars())

    async def restart(self, listener_id: uuid.UUID, delivery_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            text(
                "UPDATE deliveries d SET status = 'pending', next_attempt_at = now(),"
                " retry_base = d.attempts, lease_expires_at = NULL, ordered = l.ordered"
                " FROM listeners l"
                " WHERE l.id = :listener_id AND d.listener_id = l.id AND d.message_id = :id"
                " AND d.status = ANY(CAST(:statuses AS text[])) RETURNING d.message_id"
            ),
            {"listener_id": listener_id, "id": delivery_id, "statuses": list(RETRYABLE)},
        )
        return result.scalar_one_or_none() is not None

    async def replay(
        self,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        ordered: bool,
        since: datetime,
        until: datetime,
        statuses: list[str],
    ) -> int:
        window = {"queue_id": queue_id, "listener_id": listener_id, "since": since, "until": until}
        restarted = await self.session.execute(
            REPLAY_EXISTING, {**window, "statuses": statuses, "ordered": ordered}
        )
        missed = list((await self.session.execute(MISSED_MESSAGES, window)).scalars())
        if missed:
            await self.session.execute(
                INSERT_DELIVERIES,
                {"listener_id": listener_id, "message_ids": missed, "ordered": ordered},
            )
        return int(getattr(restarted, "rowcount", 0)) + len(missed)
