"""The console's queue page: rendered by its own GET, and again by the inlet form, which
shows a new inlet's URL on it once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Principal
from service.console.render import html
from service.db.base import utcnow
from service.event_types.controller import provide_service as provide_event_types
from service.event_types.service import EventTypeService
from service.inlets.controller import provide_inlets
from service.inlets.service import InletService
from service.lib.pagination import PageRequest
from service.listeners.controller import provide_service as provide_listeners
from service.listeners.service import ListenerService
from service.queues.controller import provide_service as provide_queues
from service.queues.service import QueueService
from service.stats.activity import BACKLOG_CAP, ActivityStats, Window

ALL = PageRequest(limit=1000, after=None)


@dataclass(frozen=True)
class QueuePage:
    queues: QueueService
    listeners: ListenerService
    inlets: InletService
    event_types: EventTypeService
    activity: ActivityStats

    async def render(
        self,
        request: Request[Principal, Any, Any],
        queue_id: uuid.UUID,
        *,
        window: Window = "hour",
        new_inlet: tuple[str, str] | None = None,
    ) -> Template:
        """The queue with its listeners and their figures, its inlets and event types;
        `new_inlet`: (name, URL) of the inlet just created."""
        org_id = request.user.org_id
        return html(
            "queue.html",
            principal=request.user,
            queue=await self.queues.get(org_id, queue_id),
            listeners=await self.listeners.page(org_id, queue_id, ALL),
            activity=await self.activity.listeners(org_id, queue_id, window),
            window=window,
            chart=await self.activity.chart(org_id, window, queue_id=queue_id),
            inlets=await self.inlets.page(org_id, queue_id, ALL),
            new_inlet=new_inlet,
            event_types=await self.event_types.list(org_id, queue_id),
            now=utcnow(),
            backlog_cap=BACKLOG_CAP,
            can_write=request.user.allows("queues:write"),
        )


def provide_queue_page(db_session: NamedDependency[AsyncSession], state: State) -> QueuePage:
    return QueuePage(
        provide_queues(db_session, state),
        provide_listeners(db_session, state),
        provide_inlets(db_session, state),
        provide_event_types(db_session),
        ActivityStats(db_session),
    )
