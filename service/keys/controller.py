"""HTTP routes for API keys."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.db.models import ApiKey
from service.dependencies import after_commit
from service.keys.cache import ApiKeyCache
from service.keys.repository import ApiKeyRepository
from service.keys.schemas import ApiKeyCreate, ApiKeyList, ApiKeyRead, ApiKeyResponse
from service.keys.service import ApiKeyService
from service.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, page_request, paginate, self_link


def provide_service(db_session: NamedDependency[AsyncSession], state: State) -> ApiKeyService:
    return ApiKeyService(ApiKeyRepository(db_session), state.settings.quota_api_keys)


def _read(row: ApiKey, key: str | msgspec.UnsetType = msgspec.UNSET) -> ApiKeyRead:
    return ApiKeyRead(row.id, row.name, list(row.scopes), row.created_at, key)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api-keys"]
    opt = requires("admin")
    dependencies = {"service": Provide(provide_service, sync_to_thread=False)}

    @post(status_code=200, summary="Create an API key (the key is shown only here)")
    async def create(
        self,
        data: JSONBody[ApiKeyCreate],
        principal: NamedDependency[Principal],
        service: NamedDependency[ApiKeyService],
    ) -> ApiKeyResponse:
        row, key = await service.create(principal.org_id, data.name, list(data.scopes))
        return ApiKeyResponse(_read(row, key), self_link(f"/v1/api-keys/{row.id}"))

    @get(summary="List API keys")
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        service: NamedDependency[ApiKeyService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ApiKeyList:
        rows = await service.page(principal.org_id, page_request(limit, cursor))
        page, links = paginate(rows, limit, "/v1/api-keys")
        return ApiKeyList([_read(r) for r in page], links)

    @delete("/{key_id:uuid}", summary="Revoke an API key; it stops working at once")
    async def revoke(
        self,
        key_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[ApiKeyService],
        db_session: NamedDependency[AsyncSession],
        state: State,
    ) -> None:
        key_hash = await service.revoke(principal.org_id, key_id)
        api_keys: ApiKeyCache = state.api_keys
        after_commit(db_session, lambda: api_keys.revoked(key_hash))
