"""Event type request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec


class EventTypeRegistration(msgspec.Struct, forbid_unknown_fields=True):
    description: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    schema: dict[str, Any] | None = None


class EventTypeView(msgspec.Struct):
    name: str
    description: str | None
    schema: dict[str, Any] | None
    registered: bool
    messages: int
    last_seen_at: datetime | None


class EventTypeList(msgspec.Struct):
    event_types: list[EventTypeView]


class EventTypeResponse(msgspec.Struct):
    event_type: EventTypeView
