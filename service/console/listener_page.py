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
from service.console.render import html
from service.deliveries.controller import provide_deliveries
from service.deliveries.service import DeliveryService
from service.lib.pagination import PageRequest, decode_cursor, encode_cursor
from service.listeners.controller import provide_service as provide_listeners
from service.listeners.service import ListenerService
from service.listeners.views import listener_view
from service.queues.controller import provide_service as provide_queues
from service.queues.service import QueueService

PAGE = 50  # deliveries a page


@dataclass(frozen=True)
class ListenerPage:
    queues: QueueService
    listeners: ListenerService
    deliveries: DeliveryService
    state: State

    async def render(
        self,
        request: Request[Principal, Any, Any],
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        *,
        status: str | None = None,
        after: str | None = None,
        tested: dict[str, str] | None = None,
        replayed: dict[str, Any] | None = None,
    ) -> Template:
        """The listener with its deliveries (newest first, `status` only, older than the
        cursor `after`), and what a form answered."""
        org_id = request.user.org_id
        queue = await self.queues.get(org_id, queue_id)
        listener = await self.listeners.get(org_id, queue_id, listener_id)
        view = listener_view(listener, self.state.settings, request.user, self.state.secret_box)
        rows = await self.deliveries.page(
            org_id,
            queue_id,
            listener_id,
            status or None,
            PageRequest(PAGE, decode_cursor(after)),
            newest_first=True,
        )
        return html(
            "listener.html",
            principal=request.user,
            queue=queue,
            listener=view,
            deliveries=rows[:PAGE],
            status=status or "",
            more=encode_cursor(rows[PAGE - 1].message_id) if len(rows) > PAGE else None,
            can_write=request.user.allows("queues:write"),
            tested=tested,
            replayed=replayed,
        )


def provide_listener_page(db_session: NamedDependency[AsyncSession], state: State) -> ListenerPage:
    return ListenerPage(
        provide_queues(db_session, state),
        provide_listeners(db_session, state),
        provide_deliveries(db_session, state),
        state,
    )
