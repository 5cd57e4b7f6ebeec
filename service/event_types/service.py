"""Rules for a queue's event type catalog. Never commits."""

from __future__ import annotations

import uuid
from typing import Any

from service.db.models import EventType
from service.errors import NotFound, invalid_field
from service.event_types.repository import EventTypeRepository
from service.messages.event_types import event_type_error
from service.queues.repository import QueueRepository
from service.routing.schemas import SchemaError, compile_schema


class EventTypeService:
    def __init__(self, repository: EventTypeRepository, queues: QueueRepository) -> None:
        self.repository = repository
        self.queues = queues

    async def _require_queue(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> None:
        if await self.queues.get(org_id, queue_id) is None:
            raise NotFound("Queue not found")

    async def list(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> list[EventType]:
        await self._require_queue(org_id, queue_id)
        return await self.repository.list(queue_id)

    async def register(
        self,
        org_id: uuid.UUID,
        queue_id: uuid.UUID,
        name: str,
        description: str | None,
        schema: dict[str, Any] | None,
    ) -> EventType:
        if reason := event_type_error(name):
            raise invalid_field("name", reason)
        if schema is not None:
            try:
                compile_schema(schema)
            except SchemaError as exc:
                raise invalid_field(exc.path, exc.message) from exc
        await self._require_queue(org_id, queue_id)
        await self.queues.move_routing_on(queue_id)
        return await self.repository.register(queue_id, name, description, schema)

    async def delete(self, org_id: uuid.UUID, queue_id: uuid.UUID, name: str) -> None:
        await self._require_queue(org_id, queue_id)
        if not await self.repository.delete(queue_id, name):
            raise NotFound("Event type not found")
        await self.queues.move_routing_on(queue_id)
