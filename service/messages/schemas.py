"""Response bodies of the messages API (ingest's own are in records.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from service.deliveries.schemas import DeliveryView
from service.lib.pagination import LINKS, PageLinks, SelfLinks


class MessageView(msgspec.Struct):
    id: uuid.UUID
    queue_id: uuid.UUID
    batch_id: uuid.UUID
    index: int
    content_type: str
    size: int
    received_at: datetime
    event_type: str | None = None


class MessageList(msgspec.Struct):
    messages: list[MessageView]
    links: PageLinks = msgspec.field(name=LINKS)


class MessageDetail(msgspec.Struct):
    message: MessageView
    deliveries: list[DeliveryView]
    links: SelfLinks = msgspec.field(name=LINKS)


class IngestedMessage(msgspec.Struct):
    id: uuid.UUID
    index: int


class RejectedItem(msgspec.Struct):
    index: int
    reason: str


class IngestAccepted(msgspec.Struct):
    """An ingest request's answer (202): its batch, committed."""

    batch_id: uuid.UUID
    accepted: int
    rejected: int
    received_at: datetime
    links: SelfLinks = msgspec.field(name=LINKS)


class IngestResult(IngestAccepted):
    """A synchronous ingest request's answer (200): the ids of what was accepted."""

    messages: list[IngestedMessage] = msgspec.field(default_factory=list)
    failures: list[RejectedItem] = msgspec.field(default_factory=list)
