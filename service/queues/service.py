"""Rules for queues. Never commits: the caller owns the transaction."""

from __future__ import annotations

import uuid

import msgspec

from service.db.models import Queue
from service.errors import Conflict, NotFound, enforce_quota
from service.lib.pagination import PageRequest
from service.queues.repository import DuplicateName, EventsQueueTaken, QueueRepository
from service.queues.schemas import QueueCreate, QueueUpdate

ROUTING_FIELDS = ("event_type_field", "validate_schemas")
EVENTS_QUEUE_TAKEN = (
    "The organization already has an events queue (operational_events): only one may"
)


class QueueService:
    def __init__(self, repository: QueueRepository, quota: int | None = None) -> None:
        self.repository = repository
        self.quota = quota

    async def get(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> Queue:
        """The queue, or NotFound when it is unknown or another organization's."""
        queue = await self.repository.get(org_id, queue_id)
        if queue is None:
            raise NotFound("Queue not found")
        return queue

    async def create(self, org_id: uuid.UUID, data: QueueCreate) -> Queue:
        enforce_quota(await self.repository.count_locked(org_id), self.quota, "queues")
        try:
            return await self.repository.add(
                org_id,
                data.name,
                data.retention_days,
                event_type_field=data.event_type_field,
                validate_schemas=data.validate_schemas,
                operational_events=data.operational_events,
            )
        except DuplicateName as exc:
            raise Conflict(f"A queue named '{data.name}' already exists") from exc
        except EventsQueueTaken as exc:
            raise Conflict(EVENTS_QUEUE_TAKEN) from exc

    async def update(self, org_id: uuid.UUID, queue_id: uuid.UUID, data: QueueUpdate) -> Queue:
        queue = await self.get(org_id, queue_id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        if any(field in changes for field in ROUTING_FIELDS):
            await self.repository.move_routing_on(queue_id)
        try:
            return await self.repository.update(queue, changes)
        except DuplicateName as exc:
            raise Conflict(f"A queue named '{data.name}' already exists") from exc
        except EventsQueueTaken as exc:
            raise Conflict(EVENTS_QUEUE_TAKEN) from exc

    async def page(self, org_id: uuid.UUID, page: PageRequest) -> list[Queue]:
        return await self.repository.page(org_id, page.after, page.limit)

    async def delete(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> None:
        """Deletes the queue with its listeners, messages and pending deliveries."""
        if not await self.repository.delete(org_id, queue_id):
            raise NotFound("Queue not found")
