"""API key request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from service.lib.pagination import LINKS, PageLinks, SelfLinks

Scope = Literal["queues:read", "queues:write", "messages:read", "messages:write", "admin"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=5)]


class ApiKeyRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    scopes: list[str]
    created_at: datetime
    key: str | msgspec.UnsetType = msgspec.UNSET


class ApiKeyResponse(msgspec.Struct):
    api_key: ApiKeyRead
    links: SelfLinks = msgspec.field(name=LINKS)


class ApiKeyList(msgspec.Struct):
    api_keys: list[ApiKeyRead]
    links: PageLinks = msgspec.field(name=LINKS)
