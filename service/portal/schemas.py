"""Portal session request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

Capability = Literal["read", "manage_listeners", "replay"]
HttpsUrl = Annotated[str, msgspec.Meta(max_length=2048, pattern=r"^https://[^\s\"'<>]+$")]
Colour = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]


class Branding(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    logo_url: HttpsUrl | None = None
    accent_color: Colour | None = None


class PortalSessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    queue_id: uuid.UUID
    listener_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=100)] | None = (
        None
    )
    capabilities: Annotated[list[Capability], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["read"]
    )
    expires_in_s: Annotated[int, msgspec.Meta(ge=60, le=604_800)] = 3600
    branding: Branding = msgspec.field(default_factory=Branding)


class PortalSessionView(msgspec.Struct):
    id: uuid.UUID
    url: str
    expires_at: datetime


class PortalSessionResponse(msgspec.Struct):
    portal_session: PortalSessionView
