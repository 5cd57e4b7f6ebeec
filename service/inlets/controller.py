"""HTTP routes: manage a queue's inlets, and the unauthenticated inlet ingest URL."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.db.models import Inlet
from service.inlets.repository import InletRepository
from service.inlets.service import InletService, forwardable_headers
from service.lib.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    list_links,
    page_request,
    self_link,
    split_page,
)
from service.messages.http import ingest_response, read_ingest_request
from service.messages.ingest import IngestService
from service.queues.repository import QueueRepository


class InletCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


def provide_inlets(db_session: NamedDependency[AsyncSession]) -> InletService:
    return InletService(InletRepository(db_session), QueueRepository(db_session))


def inlet_view(inlet: Inlet, token: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": inlet.id,
        "name": inlet.name,
        "queue_id": inlet.queue_id,
        "created_at": inlet.created_at,
    }
    if token is not None:
        view["token"] = token
        view["url"] = f"/v1/inlets/{token}"
    return view


def _href(inlet: Inlet) -> str:
    return f"/v1/queues/{inlet.queue_id}/inlets/{inlet.id}"


class InletController(Controller):
    path = "/queues/{queue_id:uuid}/inlets"
    tags = ["inlets"]
    dependencies = {"inlets": Provide(provide_inlets, sync_to_thread=False)}

    @post(
        status_code=200,
        opt=requires("queues:write"),
        summary="Create an inlet (token shown once)",
    )
    async def create(
        self,
        queue_id: FromPath[uuid.UUID],
        data: JSONBody[InletCreate],
        principal: NamedDependency[Principal],
        inlets: NamedDependency[InletService],
    ) -> dict[str, Any]:
        inlet, token = await inlets.create(principal.org_id, queue_id, data.name)
        return {"inlet": inlet_view(inlet, token), "_links": self_link(_href(inlet))}

    @get(opt=requires("queues:read"), summary="List a queue's inlets")
    async def list_inlets(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        inlets: NamedDependency[InletService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        rows, next_id = split_page(
            await inlets.page(principal.org_id, queue_id, page_request(limit, cursor)), limit
        )
        return {
            "inlets": [inlet_view(i) for i in rows],
            "_links": list_links(f"/v1/queues/{queue_id}/inlets", limit, next_id),
        }

    @get("/{inlet_id:uuid}", opt=requires("queues:read"), summary="Get an inlet")
    async def get_inlet(
        self,
        queue_id: FromPath[uuid.UUID],
        inlet_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        inlets: NamedDependency[InletService],
    ) -> dict[str, Any]:
        inlet = await inlets.get(principal.org_id, queue_id, inlet_id)
        return {"inlet": inlet_view(inlet), "_links": self_link(_href(inlet))}

    @delete(
        "/{inlet_id:uuid}",
        opt=requires("queues:write"),
        summary="Delete an inlet; its URL stops working",
    )
    async def delete_inlet(
        self,
        queue_id: FromPath[uuid.UUID],
        inlet_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        inlets: NamedDependency[InletService],
    ) -> None:
        await inlets.delete(principal.org_id, queue_id, inlet_id)


async def _resolve(state: State, token: str) -> Inlet:
    # A short session of its own: no connection is held while the body streams in.
    async with state.sessionmaker() as session:
        return await provide_inlets(session).resolve(token)


class InletIngestController(Controller):
    path = "/inlets"
    tags = ["inlets"]

    @post(
        "/{token:str}",
        status_code=202,
        request_max_body_size=None,
        summary="Receive a third-party webhook",
    )
    async def receive(
        self, token: FromPath[str], request: Request[Any, Any, Any], state: State
    ) -> Response[dict[str, Any]]:
        inlet = await _resolve(state, token)
        state.rate_limiter.check(f"inlet:{inlet.id}")
        ingest: IngestService = state.ingest
        parsed = await read_ingest_request(
            request,
            ingest.settings,
            org_id=inlet.org_id,
            queue_id=inlet.queue_id,
            original_headers=forwardable_headers(list(request.headers.multi_items())),
        )
        return ingest_response(await ingest.ingest(parsed))
