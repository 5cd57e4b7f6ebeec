"""Every SQL statement about inlets."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Inlet


class InletRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count(self, queue_id: uuid.UUID) -> int:
        return (
            await self.session.scalar(select(func.count()).where(Inlet.queue_id == queue_id)) or 0
        )

    async def add(self, inlet: Inlet) -> Inlet:
        self.session.add(inlet)
        await self.session.flush()
        return inlet

    async def get(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, inlet_id: uuid.UUID
    ) -> Inlet | None:
        result = await self.session.execute(
            select(Inlet).where(
                Inlet.org_id == org_id, Inlet.queue_id == queue_id, Inlet.id == inlet_id
            )
        )
        return result.scalar_one_or_none()

    async def page(self, queue_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Inlet]:
        query = select(Inlet).where(Inlet.queue_id == queue_id)
        if after is not None:
            query = query.where(Inlet.id > after)
        result = await self.session.execute(query.order_by(Inlet.id).limit(limit + 1))
        return list(result.scalars())

    async def delete(self, org_id: uuid.UUID, queue_id: uuid.UUID, inlet_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(Inlet)
            .where(Inlet.org_id == org_id, Inlet.queue_id == queue_id, Inlet.id == inlet_id)
            .returning(Inlet.id)
        )
        return result.scalar_one_or_none() is not None
