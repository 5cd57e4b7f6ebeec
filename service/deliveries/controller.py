"""HTTP routes: a listener's deliveries, their attempts, manual retry and replay."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.deliveries.repository import DeliveryRepository
from service.deliveries.schemas import ReplayRequest
from service.deliveries.service import DeliveryService
from service.dependencies import waker_for
from service.lib.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    list_links,
    page_request,
    split_page,
)
from service.listeners.repository import ListenerRepository
from service.messages.views import delivery_view

READ, WRITE = requires("messages:read"), requires("messages:write")


def provide_deliveries(db_session: NamedDependency[AsyncSession], state: State) -> DeliveryService:
    return DeliveryService(
        DeliveryRepository(db_session), ListenerRepository(db_session), waker_for(db_session, state)
    )


class DeliveryController(Controller):
    path = "/queues/{queue_id:uuid}/listeners/{listener_id:uuid}"
    tags = ["deliveries"]
    dependencies = {"deliveries": Provide(provide_deliveries, sync_to_thread=False)}

    @get("/deliveries", opt=READ, summary="A listener's deliveries, optionally by status")
    async def list_deliveries(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        deliveries: NamedDependency[DeliveryService],
        status: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        page = page_request(limit, cursor)
        rows = await deliveries.page(principal.org_id, queue_id, listener_id, status, page)
        rows, next_id = split_page(rows, limit)
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries"
        return {
            "deliveries": [delivery_view(d) for d in rows],
            "_links": list_links(path, limit, next_id, status=status),  # type: ignore[arg-type]
        }

    @get(
        "/deliveries/{delivery_id:uuid}/attempts",
        opt=READ,
        summary="Every attempt of a delivery",
    )
    async def list_attempts(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        deliveries: NamedDependency[DeliveryService],
    ) -> dict[str, Any]:
        rows = await deliveries.attempts(principal.org_id, queue_id, listener_id, delivery_id)
        return {
            "attempts": [
                {
                    "number": a.number,
                    "started_at": a.started_at,
                    "duration_ms": a.duration_ms,
                    "status_code": a.status_code,
                    "error": a.error,
                    "response_body": a.response_body,
                }
                for a in rows
            ]
        }

    @post(
        "/deliveries/{delivery_id:uuid}/retry",
        status_code=202,
        opt=WRITE,
        summary="Retry a delivery",
    )
    async def retry(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        deliveries: NamedDependency[DeliveryService],
    ) -> dict[str, Any]:
        await deliveries.retry(principal.org_id, queue_id, listener_id, delivery_id)
        return {"delivery_id": str(delivery_id), "status": "pending"}

    @post("/replay", status_code=202, opt=WRITE, summary="Deliver a time window again")
    async def replay(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: JSONBody[ReplayRequest],
        principal: NamedDependency[Principal],
        deliveries: NamedDependency[DeliveryService],
    ) -> dict[str, int]:
        replayed = await deliveries.replay(principal.org_id, queue_id, listener_id, data)
        return {"replayed": replayed}
