"""HTTP routes: manage a queue's inlets, and the unauthenticated inlet ingest URL."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.db.models import Inlet
from service.inlets.auth import InletAuthentication
from service.inlets.cache import ResolvedInlet
from service.inlets.repository import InletRepository
from service.inlets.schemas import InletCreate, InletList, InletResponse, InletView
from service.inlets.service import InletService, forwardable_headers
from service.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, page_request, paginate, self_link
from service.messages.http import INGEST_RESPONSES, ingest_messages
from service.queues.repository import QueueRepository


def provide_inlets(db_session: NamedDependency[AsyncSession], state: State) -> InletService:
    return InletService(
        InletRepository(db_session),
        QueueRepository(db_session),
        state.settings.quota_inlets_per_queue,
    )


def inlet_view(inlet: Inlet, token: str | None = None) -> InletView:
    view = InletView(inlet.id, inlet.name, inlet.queue_id, inlet.created_at)
    if token is not None:
        view.token, view.url = token, f"/v1/inlets/{token}"
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
    ) -> InletResponse:
        inlet, token = await inlets.create(principal.org_id, queue_id, data.name)
        return InletResponse(inlet_view(inlet, token), self_link(_href(inlet)))

    @get(opt=requires("queues:read"), summary="List a queue's inlets")
    async def list_inlets(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        inlets: NamedDependency[InletService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> InletList:
        rows = await inlets.page(principal.org_id, queue_id, page_request(limit, cursor))
        page, links = paginate(rows, limit, f"/v1/queues/{queue_id}/inlets")
        return InletList([inlet_view(i) for i in page], links)

    @get("/{inlet_id:uuid}", opt=requires("queues:read"), summary="Get an inlet")
    async def get_inlet(
        self,
        queue_id: FromPath[uuid.UUID],
        inlet_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        inlets: NamedDependency[InletService],
    ) -> InletResponse:
        inlet = await inlets.get(principal.org_id, queue_id, inlet_id)
        return InletResponse(inlet_view(inlet), self_link(_href(inlet)))

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
        state: State,
    ) -> None:
        await inlets.delete(principal.org_id, queue_id, inlet_id)
        state.inlets.forget(inlet_id)


class InletIngestController(Controller):
    path = "/inlets"
    tags = ["inlets"]
    middleware = [InletAuthentication]

    @post(
        "/{token:str}",
        status_code=202,
        request_max_body_size=None,
        summary="Receive a third-party webhook",
        responses=INGEST_RESPONSES,
    )
    async def receive(self, request: Request[ResolvedInlet, Any, Any]) -> Response[dict[str, Any]]:
        inlet = request.user
        return await ingest_messages(
            request,
            org_id=inlet.org_id,
            queue_id=inlet.queue_id,
            credential=f"inlet:{inlet.id}",
            original_headers=forwardable_headers(list(request.headers.multi_items())),
        )
