"""Request and response bodies of the deliveries API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from service.deliveries.state import DeliveryStatus
from service.lib.pagination import LINKS, PageLinks


class ReplayRequest(msgspec.Struct, forbid_unknown_fields=True):
    since: datetime
    until: datetime | None = None
    status: Literal["failed", "all"] = "failed"


class DeliveryView(msgspec.Struct):
    """A message's delivery to one listener; its id is the message's."""

    id: uuid.UUID
    message_id: uuid.UUID
    listener_id: uuid.UUID
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryView]
    links: PageLinks = msgspec.field(name=LINKS)


class AttemptView(msgspec.Struct):
    number: int
    started_at: datetime
    duration_ms: int | None
    status_code: int | None
    error: str | None
    response_body: str | None
    event_type: str | None = None  # the message's


class AttemptList(msgspec.Struct):
    attempts: list[AttemptView]


class RetryAccepted(msgspec.Struct):
    delivery_id: uuid.UUID
    status: Literal["pending"] = "pending"


class ReplayAccepted(msgspec.Struct):
    replayed: int
