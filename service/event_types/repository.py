"""Event types for the API (ORM, on the request's session)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import EventType


class EventTypeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self, queue_id: uuid.UUID) -> list[EventType]:
        result = await self.session.execute(
            select(EventType).where(EventType.queue_id == queue_id).order_by(EventType.name)
        )
        return list(result.scalars())

    async def register(
        self, queue_id: uuid.UUID, name: str, description: str | None, schema: dict[str, Any] | None
    ) -> EventType:
        values = {"registered": True, "description": description, "schema": schema}
        statement = (
            insert(EventType)
            .values(queue_id=queue_id, name=name, **values)
            .on_conflict_do_update(index_elements=["queue_id", "name"], set_=values)
            .returning(EventType)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def delete(self, queue_id: uuid.UUID, name: str) -> bool:
        result = await self.session.execute(
            delete(EventType)
            .where(EventType.queue_id == queue_id, EventType.name == name)
            .returning(EventType.name)
        )
        return result.scalar_one_or_none() is not None
