"""Queue request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from service.lib.json_pointer import POINTER_PATTERN
from service.lib.pagination import LINKS, PageLinks, SelfLinks

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
RetentionDays = Annotated[int, msgspec.Meta(ge=1, le=3650)]


EventTypeField = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=POINTER_PATTERN)]


class QueueCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    retention_days: RetentionDays | None = None
    event_type_field: EventTypeField | None = None
    validate_schemas: bool = False
    operational_events: bool = False


class QueueUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    retention_days: RetentionDays | msgspec.UnsetType | None = msgspec.UNSET
    event_type_field: EventTypeField | msgspec.UnsetType | None = msgspec.UNSET
    validate_schemas: bool | msgspec.UnsetType = msgspec.UNSET
    operational_events: bool | msgspec.UnsetType = msgspec.UNSET


class QueueView(msgspec.Struct):
    id: uuid.UUID
    name: str
    retention_days: int | None
    event_type_field: str | None
    validate_schemas: bool
    operational_events: bool
    created_at: datetime
    updated_at: datetime


class QueueResponse(msgspec.Struct):
    queue: QueueView
    links: SelfLinks = msgspec.field(name=LINKS)


class QueueList(msgspec.Struct):
    queues: list[QueueView]
    links: PageLinks = msgspec.field(name=LINKS)
