"""The console's listener page: rendered by its own GET, and again by the forms that
answer on it (the filter test, the replay preview)."""

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
from service.console.delivery_log import LogFilters, delivery_log
from service.console.render import html
from service.deliveries.controller import provide_deliveries
from service.deliveries.service import DeliveryService
from service.event_types.controller import provide_service as provide_event_types
from service.event_types.service import EventTypeService
from service.listeners.controller import provide_service as provide_listeners
from service.listeners.service import ListenerService
from service.listeners.views import listener_view
from service.queues.controller import provide_service as provide_queues
from service.queues.service import QueueService
from service.stats.activity import ActivityStats, Window


@dataclass(frozen=True)
class ListenerPage:
    queues: QueueService
    listeners: ListenerService
    deliveries: DeliveryService
    event_types: EventTypeService
    activity: ActivityStats
    state: State

    async def render(
        self,
        request: Request[Principal, Any, Any],
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        *,
        filters: LogFilters | None = None,
        after: str | None = None,
        window: Window = "hour",
        tested: dict[str, str] | None = None,
        replayed: dict[str, Any] | None = None,
        sent: uuid.UUID | None = None,
    ) -> Template:
        """The listener with its chart and delivery log (newest first, filtered, older
        than the cursor `after`), and what a form answered."""
        org_id = request.user.org_id
        queue = await self.queues.get(org_id, queue_id)
        listener = await self.listeners.get(org_id, queue_id, listener_id)
        view = listener_view(listener, self.state.settings, request.user, self.state.secret_box)
        log = await delivery_log(
            self.deliveries, org_id, queue_id, listener_id, filters or LogFilters(), after
        )
        return html(
            "listener.html",
            principal=request.user,
            queue=queue,
            listener=view,
            log=log,
            event_types=[t.name for t in await self.event_types.list(org_id, queue_id)],
            chart=await self.activity.chart(org_id, window, listener_id=listener_id),
            can_write=request.user.allows("queues:write"),
            tested=tested,
            replayed=replayed,
            sent=sent,
        )


def provide_listener_page(db_session: NamedDependency[AsyncSession], state: State) -> ListenerPage:
    return ListenerPage(
        provide_queues(db_session, state),
        provide_listeners(db_session, state),
        provide_deliveries(db_session, state),
        provide_event_types(db_session),
        ActivityStats(db_session),
        state,
    )
