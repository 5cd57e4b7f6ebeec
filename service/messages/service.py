"""Reading messages back: lists, one message with its deliveries, the raw payload."""

from __future__ import annotations

import uuid

from service.db.models import Delivery, Message
from service.errors import NotFound
from service.lib.pagination import PageRequest
from service.messages.repository import MessageRepository


class MessageService:
    def __init__(self, repository: MessageRepository) -> None:
        self.repository = repository

    async def page(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, page: PageRequest
    ) -> list[Message]:
        """Newest first."""
        if not await self.repository.queue_exists(org_id, queue_id):
            raise NotFound("Queue not found")
        return await self.repository.page(org_id, queue_id, page.after, page.limit)

    async def get(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, message_id: uuid.UUID
    ) -> tuple[Message, list[Delivery]]:
        message = await self.repository.get(org_id, queue_id, message_id)
        if message is None:
            raise NotFound("Message not found")
        return message, await self.repository.deliveries(message.queue_id, message.id)

    async def original_headers(self, message: Message) -> dict[str, str] | None:
        """The inlet headers forwarded with `message` (as herald-original-*), if any."""
        if not message.has_original_headers:
            return None
        return await self.repository.original_headers(message.batch_id)

    async def payload(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, message_id: uuid.UUID
    ) -> tuple[Message, bytes]:
        message = await self.repository.get(org_id, queue_id, message_id)
        if message is None:
            raise NotFound("Message not found")
        body = await self.repository.payload(message.queue_id, message.id)
        if body is None:
            raise NotFound("The payload is no longer retained")
        return message, body
