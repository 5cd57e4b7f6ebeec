"""HTTP routes for API keys."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.dependencies import after_commit
from service.keys.cache import ApiKeyCache
from service.keys.repository import ApiKeyRepository
from service.keys.schemas import ApiKeyCreate
from service.keys.service import ApiKeyService
from service.lib.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    list_links,
    page_request,
    self_link,
    split_page,
)


def provide_service(db_session: NamedDependency[AsyncSession]) -> ApiKeyService:
    return ApiKeyService(ApiKeyRepository(db_session))


def _read(row: Any, key: str | None = None) -> dict[str, Any]:
    body = {"id": row.id, "name": row.name, "scopes": row.scopes, "created_at": row.created_at}
    if key is not None:
        body["key"] = key
    return body


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
    ) -> dict[str, Any]:
        row, key = await service.create(principal.org_id, data.name, list(data.scopes))
        return {"api_key": _read(row, key), "_links": self_link(f"/v1/api-keys/{row.id}")}

    @get(summary="List API keys")
    async def list_keys(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        service: NamedDependency[ApiKeyService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        rows = await service.page(principal.org_id, page_request(limit, cursor))
        rows, next_id = split_page(rows, limit)
        return {
            "api_keys": [_read(r) for r in rows],
            "_links": list_links("/v1/api-keys", limit, next_id),
        }

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
