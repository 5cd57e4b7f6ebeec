"""The console's message page: the payload, and each listener's delivery with every attempt
and the headers it was sent with."""

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
from service.console.payloads import render_payload
from service.console.render import html
from service.db.models import Attempt, Message
from service.deliveries.controller import provide_deliveries
from service.deliveries.service import DeliveryService
from service.errors import NotFound
from service.lib.pagination import PageRequest
from service.lib.webhook_headers import listener_headers, request_headers
from service.listeners.controller import provide_service as provide_listeners
from service.listeners.schemas import ListenerView
from service.listeners.service import ListenerService
from service.listeners.views import listener_view
from service.messages.controller import provide_messages
from service.messages.service import MessageService
from service.queues.controller import provide_service as provide_queues
from service.queues.service import QueueService

# The signature is not kept: it is shown as what it is made of.
SIGNATURE = "v1,<HMAC-SHA256 of id.timestamp.body with the listener's secret>"


@dataclass(frozen=True)
class MessagePage:
    queues: QueueService
    listeners: ListenerService
    messages: MessageService
    deliveries: DeliveryService
    state: State

    async def render(
        self, request: Request[Principal, Any, Any], queue_id: uuid.UUID, message_id: uuid.UUID
    ) -> Template:
        org_id = request.user.org_id
        queue = await self.queues.get(org_id, queue_id)
        message, its_deliveries = await self.messages.get(org_id, queue_id, message_id)
        try:
            _, body = await self.messages.payload(org_id, queue_id, message_id)
            payload = render_payload(body, message.content_type)
        except NotFound:  # purged by retention: the page still shows its deliveries
            payload = None
        views = {
            listener.id: listener_view(
                listener, self.state.settings, request.user, self.state.secret_box
            )
            for listener in await self.listeners.page(org_id, queue_id, PageRequest(1000, None))
        }
        shown = [d for d in its_deliveries if d.listener_id in views]
        attempts = {
            d.listener_id: (
                await self.deliveries.attempts(org_id, queue_id, d.listener_id, message_id)
            )[0]
            for d in shown
        }
        original = await self.messages.original_headers(message)
        sent = {
            (listener_id, attempt.number): _sent_headers(
                views[listener_id], message, original, attempt
            )
            for listener_id, its_attempts in attempts.items()
            if views[listener_id].type == "webhook"
            for attempt in its_attempts
        }
        return html(
            "message.html",
            principal=request.user,
            queue=queue,
            message=message,
            payload=payload,
            deliveries=shown,
            names={listener_id: view.name for listener_id, view in views.items()},
            attempts=attempts,
            sent=sent,
            can_write=request.user.allows("queues:write"),
        )


def _sent_headers(
    listener: ListenerView, message: Message, original: dict[str, str] | None, attempt: Attempt
) -> dict[str, str]:
    """What the attempt was sent with, the listener's own headers as they are now (their
    values masked for keys that may not change the listener)."""
    return request_headers(
        listener_headers(listener.headers, listener.id, listener.queue_id),
        original,
        message_id=str(message.id),
        content_type=message.content_type,
        timestamp=int(attempt.started_at.timestamp()),
        signature=SIGNATURE,
        attempt=attempt.number,
        event_type=message.event_type,
    )


def provide_message_page(db_session: NamedDependency[AsyncSession], state: State) -> MessagePage:
    return MessagePage(
        provide_queues(db_session, state),
        provide_listeners(db_session, state),
        provide_messages(db_session),
        provide_deliveries(db_session, state),
        state,
    )
