"""Deliveries for the API: listings and attempts (ORM); manual retry and replay run the
statements of service/deliveries/state.py."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Attempt, Delivery, Message
from service.deliveries import state
from service.deliveries.state import DeliveryStatus, execute
from service.lib.ids import new_ids

# Bodies are at most max_message_bytes each: a page of them stays within tens of MiB.
MISSED_PAGE_WITH_BODIES = 64
MISSED_PAGE = 10_000


# Deliveries a page of the log reads at most, whatever its filters keep.
LOG_SCAN = 5_000


@dataclass(frozen=True)
class LogSearch:
    before: uuid.UUID  # ids below it: older than the page before, or than `until`
    since: uuid.UUID  # ids from it on
    status: DeliveryStatus | None = None
    event_type: str | None = None


@dataclass(frozen=True)
class LogEntry:
    delivery: Delivery
    event_type: str | None


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]  # one more than the page when there are more
    searched_to: uuid.UUID | None  # the scan stopped here before filling the page


def _delivery_fields(row: Any) -> dict[str, Any]:
    return {column.key: row[column.key] for column in Delivery.__table__.columns}


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, listener_id: uuid.UUID, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[Delivery]:
        """One more than `limit` rows past the cursor `after`, by the primary key."""
        query = select(Delivery).where(Delivery.listener_id == listener_id)
        if status is not None:
            query = query.where(Delivery.status == status)
        if after is not None:
            query = query.where(Delivery.message_id > after)
        result = await self.session.execute(query.order_by(Delivery.message_id).limit(limit + 1))
        return list(result.scalars())

    async def log(
        self, queue_id: uuid.UUID, listener_id: uuid.UUID, search: LogSearch, limit: int
    ) -> LogPage:
        """Newest first: the deliveries matching `search` among at most LOG_SCAN of the
        listener's deliveries before `search.before` (a range of its primary key), with
        their messages' event types. A rare status or type costs one bounded scan a page;
        `LogPage.searched_to` says where a scan that found too few stopped."""
        scanned = (
            select(Delivery)
            .where(
                Delivery.listener_id == listener_id,
                Delivery.message_id < search.before,
                Delivery.message_id >= search.since,
            )
            .order_by(Delivery.message_id.desc())
            .limit(LOG_SCAN)
            .cte("scanned")
        )
        query = (
            select(scanned, Message.event_type)
            .outerjoin(
                Message, (Message.queue_id == queue_id) & (Message.id == scanned.c.message_id)
            )
            .order_by(scanned.c.message_id.desc())
            .limit(limit + 1)
        )
        if search.status is not None:
            query = query.where(scanned.c.status == search.status)
        if search.event_type is not None:
            query = query.where(Message.event_type == search.event_type)
        rows = list((await self.session.execute(query)).mappings())
        searched_to = None
        if len(rows) <= limit:
            count = await self.session.scalar(select(func.count()).select_from(scanned))
            if count == LOG_SCAN:  # the scan's last (oldest) row
                oldest = select(scanned.c.message_id).order_by(scanned.c.message_id).limit(1)
                searched_to = await self.session.scalar(oldest)
        return LogPage(
            [LogEntry(Delivery(**_delivery_fields(row)), row["event_type"]) for row in rows],
            searched_to,
        )

    async def get(self, listener_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery | None:
        result = await self.session.execute(
            select(Delivery).where(
                Delivery.listener_id == listener_id, Delivery.message_id == delivery_id
            )
        )
        return result.scalar_one_or_none()

    async def attempts(self, listener_id: uuid.UUID, delivery_id: uuid.UUID) -> list[Attempt]:
        result = await self.session.execute(
            select(Attempt)
            .where(Attempt.listener_id == listener_id, Attempt.message_id == delivery_id)
            .order_by(Attempt.number)
        )
        return list(result.scalars())

    async def event_type(self, queue_id: uuid.UUID, message_id: uuid.UUID) -> str | None:
        result = await self.session.execute(
            select(Message.event_type).where(Message.queue_id == queue_id, Message.id == message_id)
        )
        return result.scalar_one_or_none()

    async def add_test_message(
        self,
        org_id: uuid.UUID,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        body: bytes,
        content_type: str,
        event_type: str | None,
    ) -> uuid.UUID | None:
        """The new message's id, or None when the listener takes no messages (disabled)."""
        batch_id, message_id = new_ids(2)
        args = (batch_id, org_id, queue_id, message_id, content_type, body, event_type)
        result = await execute(self.session, state.TEST_MESSAGE, *args, listener_id)
        return message_id if result.rowcount else None

    async def restart(self, listener_id: uuid.UUID, delivery_id: uuid.UUID) -> bool:
        result = await execute(self.session, state.RETRY, listener_id, delivery_id)
        return result.scalar_one_or_none() is not None

    @contextlib.asynccontextmanager
    async def undone(self) -> AsyncIterator[None]:
        """Whatever the block writes is rolled back (a savepoint), the rest of the request's
        transaction kept."""
        savepoint = await self.session.begin_nested()
        try:
            yield
        finally:
            await savepoint.rollback()

    async def window_size(
        self, queue_id: uuid.UUID, since: datetime, until: datetime, at_most: int
    ) -> int:
        """The messages received in [since, until), counted up to `at_most`."""
        result = await execute(
            self.session, state.REPLAY_WINDOW_SIZE, queue_id, since, until, at_most
        )
        return int(result.scalar_one())

    async def replay(
        self,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        ordered: bool,
        since: datetime,
        until: datetime,
        statuses: list[DeliveryStatus],
        wanted: list[uuid.UUID],
    ) -> int:
        """`wanted`: for a selective listener, the missed messages it wants."""
        window = (queue_id, listener_id, since, until)
        restarted = await execute(self.session, state.REPLAY_FINISHED, *window, statuses, ordered)
        missed = await execute(self.session, state.REPLAY_MISSED, *window, wanted)
        return restarted.rowcount + missed.rowcount

    async def missed(
        self,
        queue_id: uuid.UUID,
        listener_id: uuid.UUID,
        since: datetime,
        until: datetime,
        with_bodies: bool,
    ) -> AsyncIterator[list[Row[Any]]]:
        """The window's messages the listener has no delivery for, a page at a time: id,
        event_type and (`with_bodies`) body."""
        page_size = MISSED_PAGE_WITH_BODIES if with_bodies else MISSED_PAGE
        after = uuid.UUID(int=0)
        while True:
            result = await execute(
                self.session,
                state.MISSED_MESSAGES,
                queue_id,
                listener_id,
                since,
                until,
                after,
                with_bodies,
                page_size,
            )
            rows = list(result.all())
            if rows:
                yield rows
            if len(rows) < page_size:
                return
            after = rows[-1].id
