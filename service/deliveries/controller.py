"""HTTP routes: a listener's deliveries, their attempts, manual retry and replay."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.deliveries.repository import DeliveryRepository
from service.deliveries.schemas import (
    AttemptList,
    DeliveryList,
    ReplayAccepted,
    ReplayRequest,
    RetryAccepted,
)
from service.deliveries.service import DeliveryService
from service.dependencies import waker_for
from service.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, page_request, paginate
from service.listeners.repository import ListenerRepository
from service.messages.views import attempt_view, delivery_view

READ, WRITE = requires("messages:read"), requires("messages:write")


def provide_deliveries(db_session: NamedDependency[AsyncSession], state: State) -> DeliveryService:
    return DeliveryService(
        DeliveryRepository(db_session),
        ListenerRepository(db_session),
        state.settings,
        waker_for(db_session, state),
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
    ) -> DeliveryList:
        request = page_request(limit, cursor)
        rows = await deliveries.page(principal.org_id, queue_id, listener_id, status, request)
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries"
        page, links = paginate(rows, limit, path, status=status)
        return DeliveryList([delivery_view(d) for d in page], links)

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
    ) -> AttemptList:
        rows, event_type = await deliveries.attempts(
            principal.org_id, queue_id, listener_id, delivery_id
        )
        return AttemptList([attempt_view(a, event_type) for a in rows])

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
    ) -> RetryAccepted:
        await deliveries.retry(principal.org_id, queue_id, listener_id, delivery_id)
        return RetryAccepted(delivery_id)

    @post("/replay", status_code=202, opt=WRITE, summary="Deliver a time window again")
    async def replay(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: JSONBody[ReplayRequest],
        principal: NamedDependency[Principal],
        deliveries: NamedDependency[DeliveryService],
    ) -> ReplayAccepted:
        replayed = await deliveries.replay(principal.org_id, queue_id, listener_id, data)
        return ReplayAccepted(replayed)
