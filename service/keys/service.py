"""Rules for organizations and API keys. Never commits: the caller owns the transaction."""

from __future__ import annotations

import uuid

from service.db.models import ApiKey, Organization
from service.errors import NotFound, enforce_quota
from service.keys.repository import ApiKeyRepository
from service.lib.pagination import PageRequest
from service.lib.secrets import hash_token, new_token

KEY_PREFIX = "hrld_"
ALL_SCOPES = ["admin"]


class ApiKeyService:
    def __init__(self, repository: ApiKeyRepository, quota: int | None = None) -> None:
        self.repository = repository
        self.quota = quota

    async def create_organization(self, name: str) -> tuple[Organization, ApiKey, str]:
        """A new organization with its first (admin) key; returns the key in clear once."""
        org = await self.repository.add_organization(name)
        row, key = await self.create(org.id, "initial admin key", ALL_SCOPES)
        return org, row, key

    async def create(self, org_id: uuid.UUID, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
        enforce_quota(await self.repository.count_locked(org_id), self.quota, "API keys")
        key = new_token(KEY_PREFIX)
        unique_scopes = sorted(set(scopes))
        row = await self.repository.add(org_id, name, unique_scopes, hash_token(key))
        return row, key

    async def page(self, org_id: uuid.UUID, page: PageRequest) -> list[ApiKey]:
        return await self.repository.page(org_id, page.after, page.limit)

    async def revoke(self, org_id: uuid.UUID, key_id: uuid.UUID) -> bytes:
        """Deletes the key; returns its hash, for the caches to forget once committed."""
        key_hash = await self.repository.delete(org_id, key_id)
        if key_hash is None:
            raise NotFound("API key not found")
        return key_hash
