"""Every SQL statement about listeners."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Listener
from service.deliveries import state
from service.deliveries.state import execute
from service.operational_events.outbox import LISTENER_DATA, OperationalEvent, emit

# $1 the listener whose signing secret was rotated.
SECRET_ROTATED = emit(
    "(SELECT id AS listener_id, org_id, queue_id, name FROM listeners WHERE id = $1)",
    OperationalEvent.LISTENER_SECRET_ROTATED,
    LISTENER_DATA,
)


class ListenerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID
    ) -> Listener | None:
        result = await self.session.execute(
            select(Listener).where(
                Listener.org_id == org_id,
                Listener.queue_id == queue_id,
                Listener.id == listener_id,
                Listener.deleted_at.is_(None),
            )
        )
        return result.scalar_one_or_none()

    async def count(self, queue_id: uuid.UUID) -> int:
        return (
            await self.session.scalar(
                select(func.count()).where(
                    Listener.queue_id == queue_id, Listener.deleted_at.is_(None)
                )
            )
            or 0
        )

    async def other_filters(self, queue_id: uuid.UUID, listener_id: uuid.UUID | None) -> list[Any]:
        """The body filters of the queue's listeners but `listener_id`."""
        query = select(Listener.filter).where(
            Listener.queue_id == queue_id,
            Listener.deleted_at.is_(None),
            Listener.filter.is_not(None),
        )
        if listener_id is not None:
            query = query.where(Listener.id != listener_id)
        return list((await self.session.execute(query)).scalars())

    async def add(self, listener: Listener) -> Listener:
        self.session.add(listener)
        await self.session.flush()
        return listener

    async def flush(self) -> None:
        await self.session.flush()

    async def page(
        self, queue_id: uuid.UUID, after: uuid.UUID | None, limit: int
    ) -> list[Listener]:
        query = select(Listener).where(Listener.queue_id == queue_id, Listener.deleted_at.is_(None))
        if after is not None:
            query = query.where(Listener.id > after)
        result = await self.session.execute(query.order_by(Listener.id).limit(limit + 1))
        return list(result.scalars())

    async def cancel_open_deliveries(self, listener_id: uuid.UUID) -> None:
        await execute(self.session, state.CANCEL_OPEN, [listener_id])

    async def set_deliveries_ordered(self, listener_id: uuid.UUID, ordered: bool) -> None:
        """Open deliveries follow their listener's `ordered` (an ingest statement that read
        the listener before this commits is caught by the sweeper)."""
        await execute(self.session, state.SET_ORDERED, listener_id, ordered)

    async def mark_deleted(self, listener: Listener, at: datetime) -> None:
        listener.deleted_at = at
        await self.session.flush()

    async def secret_rotated(self, listener_id: uuid.UUID) -> None:
        """Records the listener.secret_rotated event, in the rotation's transaction."""
        await execute(self.session, SECRET_ROTATED, listener_id)
