"""HTTP routes for listeners and their signing secrets."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.dependencies import waker_for
from service.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, page_request, paginate
from service.listeners.repository import ListenerRepository
from service.listeners.schemas import (
    FilterTest,
    FilterVerdict,
    ListenerCreate,
    ListenerList,
    ListenerResponse,
    ListenerUpdate,
    SigningSecret,
)
from service.listeners.service import ListenerService
from service.listeners.views import listener_response, listener_view
from service.queues.repository import QueueRepository

READ, WRITE = requires("queues:read"), requires("queues:write")


def provide_service(db_session: NamedDependency[AsyncSession], state: State) -> ListenerService:
    return ListenerService(
        ListenerRepository(db_session),
        QueueRepository(db_session),
        state.settings,
        state.secret_box,
        waker_for(db_session, state),
    )


class ListenerController(Controller):
    path = "/queues/{queue_id:uuid}/listeners"
    tags = ["listeners"]
    dependencies = {"service": Provide(provide_service, sync_to_thread=False)}

    @post(status_code=200, opt=WRITE, summary="Register a listener on a queue")
    async def create(
        self,
        queue_id: FromPath[uuid.UUID],
        data: JSONBody[ListenerCreate],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
    ) -> ListenerResponse:
        listener = await service.create(principal.org_id, queue_id, data)
        return listener_response(listener, service.settings, principal, service.secrets)

    @get(opt=READ, summary="List a queue's listeners")
    async def list_listeners(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ListenerList:
        rows = await service.page(principal.org_id, queue_id, page_request(limit, cursor))
        page, links = paginate(rows, limit, f"/v1/queues/{queue_id}/listeners")
        return ListenerList(
            [listener_view(r, service.settings, principal, service.secrets) for r in page], links
        )

    @get("/{listener_id:uuid}", opt=READ, summary="Get a listener with its status and health")
    async def get_listener(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
    ) -> ListenerResponse:
        listener = await service.get(principal.org_id, queue_id, listener_id)
        return listener_response(listener, service.settings, principal, service.secrets)

    @patch("/{listener_id:uuid}", opt=WRITE, summary="Update, pause or re-enable a listener")
    async def update(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: JSONBody[ListenerUpdate],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
    ) -> ListenerResponse:
        listener = await service.update(principal.org_id, queue_id, listener_id, data)
        return listener_response(listener, service.settings, principal, service.secrets)

    @delete(
        "/{listener_id:uuid}",
        opt=WRITE,
        summary="Delete a listener; its pending deliveries are cancelled",
    )
    async def delete_listener(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
    ) -> None:
        await service.delete(principal.org_id, queue_id, listener_id)

    @post(
        "/{listener_id:uuid}/filter/test",
        status_code=200,
        opt=READ,
        summary="Whether a payload (and event type) would reach the listener",
    )
    async def test_filter(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        data: JSONBody[FilterTest],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
    ) -> FilterVerdict:
        matches = await service.test_filter(principal.org_id, queue_id, listener_id, data)
        return FilterVerdict(matches=matches)

    @get("/{listener_id:uuid}/secret", opt=WRITE, summary="The listener's signing secret")
    async def get_secret(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
    ) -> SigningSecret:
        return SigningSecret(await service.secret(principal.org_id, queue_id, listener_id))

    @post(
        "/{listener_id:uuid}/secret/rotate",
        status_code=200,
        opt=WRITE,
        summary="Rotate the signing secret",
    )
    async def rotate_secret(
        self,
        queue_id: FromPath[uuid.UUID],
        listener_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        service: NamedDependency[ListenerService],
    ) -> SigningSecret:
        return SigningSecret(await service.rotate_secret(principal.org_id, queue_id, listener_id))
