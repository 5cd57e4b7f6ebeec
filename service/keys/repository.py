"""Every SQL statement about organizations and API keys."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import ApiKey, Organization


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_by_hash(self, key_hash: bytes) -> ApiKey | None:
        result = await self.session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
        return result.scalar_one_or_none()

    async def add_organization(self, name: str) -> Organization:
        org = Organization(name=name)
        self.session.add(org)
        await self.session.flush()
        return org

    async def count_locked(self, org_id: uuid.UUID) -> int:
        """The organization's keys, counted with its row locked until commit."""
        await self.session.execute(
            select(Organization.id).where(Organization.id == org_id).with_for_update(key_share=True)
        )
        return await self.session.scalar(select(func.count()).where(ApiKey.org_id == org_id)) or 0

    async def add(self, org_id: uuid.UUID, name: str, scopes: list[str], key_hash: bytes) -> ApiKey:
        row = ApiKey(org_id=org_id, name=name, scopes=scopes, key_hash=key_hash)
        self.session.add(row)
        await self.session.flush()
        return row

    async def page(self, org_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[ApiKey]:
        query = select(ApiKey).where(ApiKey.org_id == org_id)
        if after is not None:
            query = query.where(ApiKey.id > after)
        result = await self.session.execute(query.order_by(ApiKey.id).limit(limit + 1))
        return list(result.scalars())

    async def delete(self, org_id: uuid.UUID, key_id: uuid.UUID) -> bytes | None:
        """The deleted key's hash, or None when there was no such key."""
        result = await self.session.execute(
            delete(ApiKey)
            .where(ApiKey.org_id == org_id, ApiKey.id == key_id)
            .returning(ApiKey.key_hash)
        )
        return result.scalar_one_or_none()
