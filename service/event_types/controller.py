"""HTTP routes: a queue's event types, registered and seen."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, delete, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal, requires
from service.db.models import EventType
from service.event_types.repository import EventTypeRepository
from service.event_types.schemas import (
    EventTypeList,
    EventTypeRegistration,
    EventTypeResponse,
    EventTypeView,
)
from service.event_types.service import EventTypeService
from service.queues.repository import QueueRepository


def provide_service(db_session: NamedDependency[AsyncSession]) -> EventTypeService:
    return EventTypeService(EventTypeRepository(db_session), QueueRepository(db_session))


def event_type_view(event_type: EventType) -> EventTypeView:
    return msgspec.convert(event_type, EventTypeView, from_attributes=True)


class EventTypeController(Controller):
    path = "/queues/{queue_id:uuid}/event-types"
    tags = ["event types"]
    dependencies = {"event_types": Provide(provide_service, sync_to_thread=False)}

    @get(opt=requires("queues:read"), summary="A queue's event types, registered and seen")
    async def list_event_types(
        self,
        queue_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        event_types: NamedDependency[EventTypeService],
    ) -> EventTypeList:
        found = await event_types.list(principal.org_id, queue_id)
        return EventTypeList([event_type_view(event_type) for event_type in found])

    @put("/{name:str}", opt=requires("queues:write"), summary="Register an event type")
    async def register(
        self,
        queue_id: FromPath[uuid.UUID],
        name: FromPath[str],
        data: JSONBody[EventTypeRegistration],
        principal: NamedDependency[Principal],
        event_types: NamedDependency[EventTypeService],
    ) -> EventTypeResponse:
        registered = await event_types.register(
            principal.org_id, queue_id, name, data.description, data.schema
        )
        return EventTypeResponse(event_type_view(registered))

    @delete("/{name:str}", opt=requires("queues:write"), summary="Remove an event type")
    async def remove(
        self,
        queue_id: FromPath[uuid.UUID],
        name: FromPath[str],
        principal: NamedDependency[Principal],
        event_types: NamedDependency[EventTypeService],
    ) -> None:
        await event_types.delete(principal.org_id, queue_id, name)
