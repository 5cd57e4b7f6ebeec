"""Console pages of the organization's API keys (scope admin): list, create (the key is
shown once), revoke."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import SCOPES, Principal
from service.console.auth import ADMIN
from service.console.render import signed_in
from service.dependencies import after_commit
from service.keys.cache import ApiKeyCache
from service.keys.controller import provide_service as provide_keys
from service.keys.service import ApiKeyService
from service.lib.pagination import PageRequest


class ConsoleApiKeys(Controller):
    path = "/console"
    include_in_schema = False
    dependencies = {"keys": Provide(provide_keys, sync_to_thread=False)}

    @get("/api-keys", opt=ADMIN)
    async def api_keys(
        self, request: Request[Principal, Any, Any], keys: NamedDependency[ApiKeyService]
    ) -> Template:
        return await keys_page(request, keys)

    @post("/api-keys", opt=ADMIN)
    async def create_api_key(
        self, request: Request[Principal, Any, Any], keys: NamedDependency[ApiKeyService]
    ) -> Template:
        form = await request.form()
        scopes = [scope for scope in form.getall("scopes") if scope in SCOPES]
        name = str(form.get("name", "")).strip()
        if not name or not scopes:
            return await keys_page(request, keys, error="A key needs a name and a scope.")
        row, key = await keys.create(request.user.org_id, name[:200], scopes)
        return await keys_page(request, keys, created=(row.name, key))

    @post("/api-keys/{key_id:uuid}/revoke", opt=ADMIN, status_code=303)
    async def revoke_api_key(
        self,
        request: Request[Principal, Any, Any],
        key_id: FromPath[uuid.UUID],
        keys: NamedDependency[ApiKeyService],
        db_session: NamedDependency[AsyncSession],
        state: State,
    ) -> Redirect:
        key_hash = await keys.revoke(request.user.org_id, key_id)
        api_keys: ApiKeyCache = state.api_keys
        after_commit(db_session, lambda: api_keys.revoked(key_hash))
        return Redirect("/console/api-keys", status_code=303)


async def keys_page(
    request: Request[Principal, Any, Any],
    keys: ApiKeyService,
    created: tuple[str, str] | None = None,
    error: str | None = None,
) -> Template:
    rows = await keys.page(request.user.org_id, PageRequest(1000, None))
    return signed_in(
        request, "api_keys.html", keys=rows, scopes=SCOPES, created=created, error=error
    )
