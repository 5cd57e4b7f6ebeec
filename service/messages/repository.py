"""Read-side SQL for messages, their payloads and their deliveries."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Batch, Delivery, Listener, Message, Queue


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def queue_exists(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(Queue.id).where(Queue.org_id == org_id, Queue.id == queue_id)
        )
        return found is not None

    async def page(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, before: uuid.UUID | None, limit: int
    ) -> list[Message]:
        query = select(Message).where(Message.org_id == org_id, Message.queue_id == queue_id)
        if before is not None:
            query = query.where(Message.id < before)
        result = await self.session.execute(query.order_by(Message.id.desc()).limit(limit + 1))
        return list(result.scalars())

    async def get(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, message_id: uuid.UUID
    ) -> Message | None:
        # Through its queue: a deleted queue's messages are gone for the API at once.
        result = await self.session.execute(
            select(Message)
            .join(Queue, Queue.id == Message.queue_id)
            .where(Queue.org_id == org_id, Message.queue_id == queue_id, Message.id == message_id)
        )
        return result.scalar_one_or_none()

    async def deliveries(self, queue_id: uuid.UUID, message_id: uuid.UUID) -> list[Delivery]:
        """One per listener the queue has or had (deleted ones show `cancelled`)."""
        result = await self.session.execute(
            select(Delivery)
            .join(Listener, Listener.id == Delivery.listener_id)
            .where(Listener.queue_id == queue_id, Delivery.message_id == message_id)
            .order_by(Delivery.listener_id)
        )
        return list(result.scalars())

    async def original_headers(self, batch_id: uuid.UUID) -> dict[str, str] | None:
        """The inlet request's headers its messages carry on (None for other batches)."""
        result = await self.session.execute(
            select(Batch.original_headers).where(Batch.id == batch_id)
        )
        return result.scalar_one_or_none()

    async def payload(self, queue_id: uuid.UUID, message_id: uuid.UUID) -> bytes | None:
        body: bytes | None = await self.session.scalar(
            select(Message.body).where(Message.queue_id == queue_id, Message.id == message_id)
        )
        return body
