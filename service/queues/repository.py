"""Every SQL statement about queues."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import DeletedQueue, Listener, Organization, Queue
from service.deliveries.state import CANCEL_OPEN, execute


class DuplicateName(Exception):
    pass


class EventsQueueTaken(Exception):
    """The organization already has an events queue."""


class QueueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> Queue | None:
        result = await self.session.execute(
            select(Queue).where(Queue.org_id == org_id, Queue.id == queue_id)
        )
        return result.scalar_one_or_none()

    async def count_locked(self, org_id: uuid.UUID) -> int:
        """The organization's queues, counted with its row locked until commit (concurrent
        creates count one after the other)."""
        await self.session.execute(
            select(Organization.id).where(Organization.id == org_id).with_for_update(key_share=True)
        )
        return await self.session.scalar(select(func.count()).where(Queue.org_id == org_id)) or 0

    async def lock(self, queue_id: uuid.UUID) -> None:
        """Locks the queue's row until commit without blocking ingest (which takes KEY SHARE)."""
        await self.session.execute(
            select(Queue.id).where(Queue.id == queue_id).with_for_update(key_share=True)
        )

    async def move_routing_on(self, queue_id: uuid.UUID) -> None:
        """Marks a change to what routes the queue's messages (service/routing): ingest
        judged with the routing before it stores nothing, and judges again."""
        await self.session.execute(
            text("UPDATE queues SET routing_version = routing_version + 1 WHERE id = :id"),
            {"id": queue_id},
        )

    async def add(
        self,
        org_id: uuid.UUID,
        name: str,
        retention_days: int | None,
        *,
        event_type_field: str | None = None,
        validate_schemas: bool = False,
        operational_events: bool = False,
    ) -> Queue:
        queue = Queue(
            org_id=org_id,
            name=name,
            retention_days=retention_days,
            event_type_field=event_type_field,
            validate_schemas=validate_schemas,
            operational_events=operational_events,
        )
        return await self._flush(queue, add=True)

    async def update(self, queue: Queue, changes: dict[str, Any]) -> Queue:
        for field, value in changes.items():
            setattr(queue, field, value)
        return await self._flush(queue)

    async def _flush(self, queue: Queue, add: bool = False) -> Queue:
        try:
            async with self.session.begin_nested():
                if add:
                    self.session.add(queue)
                await self.session.flush()
        except IntegrityError as exc:
            if "uq_queues_events_queue" in str(exc.orig):
                raise EventsQueueTaken from exc
            raise DuplicateName from exc
        return queue

    async def page(self, org_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Queue]:
        query = select(Queue).where(Queue.org_id == org_id)
        if after is not None:
            query = query.where(Queue.id > after)
        result = await self.session.execute(query.order_by(Queue.id).limit(limit + 1))
        return list(result.scalars())

    async def delete(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> bool:
        """Deletes the queue with its listeners and inlets, and cancels its open deliveries.

        The queue row is locked first: that waits for ingest statements holding it (KEY
        SHARE), so the cancel below sees their deliveries, and later ones find no queue.
        Its messages and past deliveries are left to the retention purge (workers/retention.py).
        """
        locked = await self.session.scalar(
            select(Queue.id).where(Queue.org_id == org_id, Queue.id == queue_id).with_for_update()
        )
        if locked is None:
            return False
        listeners = list(
            (
                await self.session.execute(select(Listener.id).where(Listener.queue_id == queue_id))
            ).scalars()
        )
        await execute(self.session, CANCEL_OPEN, listeners)
        await self.session.execute(delete(Queue).where(Queue.id == queue_id))
        # For the retention purge, which finds deliveries by listener.
        self.session.add(DeletedQueue(queue_id=queue_id, listener_ids=listeners))
        return True
