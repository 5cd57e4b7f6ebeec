"""A listener's delivery log as the console and the portal show it: newest first, filtered
by status, event type and time received, a bounded scan per page (DeliveryRepository.log)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlencode

from service.console.forms import moment
from service.deliveries.repository import LogEntry, LogSearch
from service.deliveries.service import DeliveryService
from service.deliveries.state import DeliveryStatus
from service.errors import invalid_field
from service.lib.ids import AFTER_ALL, BEFORE_ALL, id_floor, id_time
from service.lib.pagination import decode_cursor, encode_cursor

PAGE = 50  # deliveries a page


@dataclass(frozen=True)
class LogFilters:
    """The log's query parameters, as the filter form sends them."""

    status: str = ""
    event_type: str = ""
    since: str = ""  # a browser's datetime-local, UTC
    until: str = ""

    def search(self, after: str | None) -> LogSearch:
        """The repository's search; 422 naming the field a value does not fit."""
        if self.status and self.status not in set(DeliveryStatus):
            raise invalid_field("status", f"must be one of {', '.join(DeliveryStatus)}")
        since, until = moment(self.since, "since"), moment(self.until, "until")
        bounds = [decode_cursor(after) or AFTER_ALL, id_floor(until) if until else AFTER_ALL]
        return LogSearch(
            before=min(bounds, key=lambda value: value.int),
            since=id_floor(since) if since else BEFORE_ALL,
            status=DeliveryStatus(self.status) if self.status else None,
            event_type=self.event_type.strip() or None,
        )

    def link(self, after: uuid.UUID) -> str:
        """The query string of the page older than `after`, with the same filters."""
        filters = {key: value for key, value in asdict(self).items() if value}
        return "?" + urlencode({**filters, "after": encode_cursor(after)})

    @property
    def active(self) -> bool:
        return any(asdict(self).values())


@dataclass(frozen=True)
class LogView:
    filters: LogFilters
    entries: list[LogEntry]
    older: str | None  # the link to the next page, when there is one
    searched_to: datetime | None  # the scan stopped before filling the page, here


async def delivery_log(
    deliveries: DeliveryService,
    org_id: uuid.UUID,
    queue_id: uuid.UUID,
    listener_id: uuid.UUID,
    filters: LogFilters,
    after: str | None,
) -> LogView:
    page = await deliveries.log(org_id, queue_id, listener_id, filters.search(after), PAGE)
    entries = page.entries[:PAGE]
    if len(page.entries) > PAGE:
        return LogView(filters, entries, filters.link(entries[-1].delivery.message_id), None)
    if page.searched_to is not None:
        return LogView(filters, entries, filters.link(page.searched_to), id_time(page.searched_to))
    return LogView(filters, entries, None, None)
