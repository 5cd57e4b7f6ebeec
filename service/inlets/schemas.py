"""Inlet request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from service.lib.pagination import LINKS, PageLinks, SelfLinks


class InletCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class InletView(msgspec.Struct, omit_defaults=True):
    """`token` and `url` are shown once, when the inlet is created."""

    id: uuid.UUID
    name: str
    queue_id: uuid.UUID
    created_at: datetime
    token: str | msgspec.UnsetType = msgspec.UNSET
    url: str | msgspec.UnsetType = msgspec.UNSET


class InletResponse(msgspec.Struct):
    inlet: InletView
    links: SelfLinks = msgspec.field(name=LINKS)


class InletList(msgspec.Struct):
    inlets: list[InletView]
    links: PageLinks = msgspec.field(name=LINKS)
