"""Rules for deliveries: listing, attempts, manual retry, replay. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from service.config import Settings
from service.db.base import utcnow
from service.db.models import Attempt, Delivery, Listener
from service.deliveries.repository import DeliveryRepository, LogPage, LogSearch
from service.deliveries.schemas import ReplayRequest
from service.deliveries.state import CANCELLED, FAILED, FINISHED, DeliveryStatus
from service.errors import Conflict, NotFound, invalid_field
from service.lib.pagination import PageRequest
from service.listeners.repository import ListenerRepository
from service.messages.event_types import event_type_error
from service.routing.filters import NOT_JSON
from service.routing.routing import decode_body
from service.routing.selection import Selection

# What replay starts again: "failed" also covers what a disabled listener missed.
REPLAY_STATUSES = {"failed": [FAILED, CANCELLED], "all": list(FINISHED)}


class DeliveryService:
    def __init__(
        self,
        repository: DeliveryRepository,
        listeners: ListenerRepository,
        settings: Settings,
        wake: Callable[[list[uuid.UUID]], None],
    ) -> None:
        self.repository = repository
        self.listeners = listeners
        self.settings = settings
        self.wake = wake

    async def _listener(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID
    ) -> Listener:
        listener = await self.listeners.get(org_id, queue_id, listener_id)
        if listener is None:
            raise NotFound("Listener not found")
        return listener

    async def page(
        self,
        org_id: uuid.UUID,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        status: str | None,
        page: PageRequest,
    ) -> list[Delivery]:
        """Oldest first after `page.after`."""
        if status is not None and status not in set(DeliveryStatus):
            raise invalid_field("status", f"must be one of {', '.join(DeliveryStatus)}")
        await self._listener(org_id, queue_id, listener_id)
        return await self.repository.page(listener_id, status, page.after, page.limit)

    async def log(
        self,
        org_id: uuid.UUID,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        search: LogSearch,
        limit: int,
    ) -> LogPage:
        """A page of the listener's delivery log, newest first (see DeliveryRepository.log)."""
        await self._listener(org_id, queue_id, listener_id)
        return await self.repository.log(queue_id, listener_id, search, limit)

    async def attempts(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> tuple[list[Attempt], str | None]:
        """The delivery's attempts, and its message's event type."""
        await self._listener(org_id, queue_id, listener_id)
        if await self.repository.get(listener_id, delivery_id) is None:
            raise NotFound("Delivery not found")
        attempts = await self.repository.attempts(listener_id, delivery_id)
        return attempts, await self.repository.event_type(queue_id, delivery_id)

    async def send_test(
        self,
        org_id: uuid.UUID,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        body: bytes,
        event_type: str | None,
    ) -> uuid.UUID:
        """Stores a JSON message for this listener alone (its filters do not apply) and
        wakes it; the message shows in the queue and the delivery log like any other."""
        await self._listener(org_id, queue_id, listener_id)
        if event_type is not None and (reason := event_type_error(event_type)):
            raise invalid_field("event_type", reason)
        if len(body) > self.settings.max_message_bytes:
            raise invalid_field("payload", f"at most {self.settings.max_message_bytes} bytes")
        message_id = await self.repository.add_test_message(
            org_id, queue_id, listener_id, body, "application/json", event_type
        )
        if message_id is None:
            raise Conflict("The listener is disabled: resume it to send it messages")
        self.wake([listener_id])
        return message_id

    async def retry(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> None:
        """Starts a finished delivery again with a fresh schedule; 409 if it is still going."""
        await self._listener(org_id, queue_id, listener_id)
        if await self.repository.get(listener_id, delivery_id) is None:
            raise NotFound("Delivery not found")
        if not await self.repository.restart(listener_id, delivery_id):
            raise Conflict("The delivery is already pending or in flight")
        self.wake([listener_id])

    async def replay(
        self,
        org_id: uuid.UUID,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        request: ReplayRequest,
        *,
        preview: bool = False,
    ) -> int:
        """Starts again the window's deliveries that did not get through (or all of them);
        with `preview`, only counts them."""
        listener = await self._listener(org_id, queue_id, listener_id)
        until = request.until or utcnow()
        if request.since.tzinfo is None or until.tzinfo is None:
            raise invalid_field("since", "must carry a time zone (RFC 3339)")
        if until <= request.since:
            raise invalid_field("until", "must be after since")
        longest = self.settings.replay_max_window_s
        if (until - request.since).total_seconds() > longest:
            raise invalid_field("since", f"a replay covers at most {_duration(longest)}")
        most = self.settings.replay_max_messages
        if await self.repository.window_size(queue_id, request.since, until, most + 1) > most:
            raise invalid_field(
                "since",
                f"the window holds more than {most} messages; replay it in shorter windows",
            )
        if preview:  # the replay itself, undone: the count is exactly what it would do
            async with self.repository.undone():
                return await self._replay(listener, request.since, until, request.status)
        replayed = await self._replay(listener, request.since, until, request.status)
        self.wake([listener_id])
        return replayed

    async def _replay(
        self, listener: Listener, since: datetime, until: datetime, status: str
    ) -> int:
        wanted = await self._wanted(listener, since, until)
        return await self.repository.replay(
            listener.queue_id,
            listener.id,
            listener.ordered,
            since,
            until,
            REPLAY_STATUSES[status],
            wanted,
        )

    async def _wanted(
        self, listener: Listener, since: datetime, until: datetime
    ) -> list[uuid.UUID]:
        """The missed messages of the window a selective listener wants, judged as ingest
        judges them (service/routing); none to judge for another listener."""
        if not listener.selective:
            return []
        selection = Selection.of(listener.id, listener.filter_types, listener.filter)
        wanted: list[uuid.UUID] = []
        pages = self.repository.missed(
            listener.queue_id, listener.id, since, until, with_bodies=selection.reads_body
        )
        async for page in pages:
            for row in page:
                document = decode_body(row.body) if selection.reads_body else NOT_JSON
                if selection.wants(row.event_type, document):
                    wanted.append(row.id)
        return wanted


def _duration(seconds: float) -> str:
    """`31 days`, `1 hour`, `90 s`: a limit as a person reads it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} s"
