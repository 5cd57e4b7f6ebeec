"""HTTP routes for queues."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, page_request, paginate
from service.queues.repository import QueueRepository
from service.queues.schemas import QueueCreate, QueueList, QueueResponse, QueueUpdate
from service.queues.service import QueueService
from service.queues.views import queue_response, queue_view


def provide_service(db_session: NamedDependency[AsyncSession], state: State) -> QueueService:
    return QueueService(QueueRepository(db_session), state.settings.quota_queues)


class QueueController(Controller):
    path = "/queues"
    tags = ["queues"]
    dependencies = {"service": Provide(provide_service, sync_to_thread=False)}

    @post(status_code=200, opt=requires("queues:write"), summary="Create a queue")
    async def create(
        self,
        data: JSONBody[QueueCreate],
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
    ) -> QueueResponse:
        return queue_response(await service.create(principal.org_id, data))

    @get(opt=requires("queues:read"), summary="List queues")
    async def list_queues(
        self,
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> QueueList:
        rows = await service.page(principal.org_id, page_request(limit, cursor))
        page, links = paginate(rows, limit, "/v1/queues")
        return QueueList([queue_view(q) for q in page], links)

    @get("/{queue_id:uuid}", opt=requires("queues:read"), summary="Get a queue")
    async def get_queue(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
    ) -> QueueResponse:
        return queue_response(await service.get(principal.org_id, queue_id))

    @patch("/{queue_id:uuid}", opt=requires("queues:write"), summary="Update a queue")
    async def update(
        self,
        queue_id: FromPath[uuid.UUID],
        data: JSONBody[QueueUpdate],
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
        state: State,
    ) -> QueueResponse:
        queue = await service.update(principal.org_id, queue_id, data)
        return queue_response(queue)

    @delete(
        "/{queue_id:uuid}",
        opt=requires("queues:write"),
        summary="Delete a queue and its listeners",
    )
    async def delete_queue(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
    ) -> None:
        await service.delete(principal.org_id, queue_id)
