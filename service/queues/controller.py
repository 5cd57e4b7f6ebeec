"""HTTP routes for queues."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.db.models import Queue
from service.lib.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    list_links,
    page_request,
    self_link,
    split_page,
)
from service.queues.repository import QueueRepository
from service.queues.schemas import QueueCreate, QueueUpdate
from service.queues.service import QueueService


def provide_service(db_session: NamedDependency[AsyncSession]) -> QueueService:
    return QueueService(QueueRepository(db_session))


def queue_view(queue: Queue) -> dict[str, Any]:
    return {
        "id": queue.id,
        "name": queue.name,
        "retention_days": queue.retention_days,
        "created_at": queue.created_at,
        "updated_at": queue.updated_at,
    }


def _single(queue: Queue) -> dict[str, Any]:
    return {"queue": queue_view(queue), "_links": self_link(f"/v1/queues/{queue.id}")}


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
    ) -> dict[str, Any]:
        return _single(await service.create(principal.org_id, data))

    @get(opt=requires("queues:read"), summary="List queues")
    async def list_queues(
        self,
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        rows = await service.page(principal.org_id, page_request(limit, cursor))
        rows, next_id = split_page(rows, limit)
        return {
            "queues": [queue_view(q) for q in rows],
            "_links": list_links("/v1/queues", limit, next_id),
        }

    @get("/{queue_id:uuid}", opt=requires("queues:read"), summary="Get a queue")
    async def get_queue(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
    ) -> dict[str, Any]:
        return _single(await service.get(principal.org_id, queue_id))

    @patch("/{queue_id:uuid}", opt=requires("queues:write"), summary="Update a queue")
    async def update(
        self,
        queue_id: FromPath[uuid.UUID],
        data: JSONBody[QueueUpdate],
        principal: NamedDependency[Principal],
        service: NamedDependency[QueueService],
    ) -> dict[str, Any]:
        return _single(await service.update(principal.org_id, queue_id, data))

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
