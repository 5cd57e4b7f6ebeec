"""Cursor pagination over time-ordered UUID ids: opaque cursors and HAL-style `_links`,
as typed structs so that every list and resource response has a schema."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Annotated, Protocol, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar.params import FromQuery, QueryParameter

from service.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size (1..500)")]
Cursor = FromQuery[str | None]


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: uuid.UUID | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(
            "cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor"}]
        ) from exc


def page_request(limit: int, cursor: str | None) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor))


class Link(msgspec.Struct, frozen=True):
    href: str


class SelfLinks(msgspec.Struct, frozen=True):
    self_: Link = msgspec.field(name="self")


class PageLinks(msgspec.Struct, frozen=True, omit_defaults=True):
    """`self`, and `next` when more rows follow."""

    self_: Link = msgspec.field(name="self")
    next: Link | None = None


LINKS = "_links"  # the JSON name of every response's links


def list_links(path: str, limit: int, next_id: uuid.UUID | None, **query: str | None) -> PageLinks:
    """`_links` for a list page: `self`, and `next` when more rows follow."""
    base_query = {k: v for k, v in query.items() if v is not None}
    own = Link(f"{path}?{urlencode({**base_query, 'limit': limit})}")
    if next_id is None:
        return PageLinks(own)
    params = {**base_query, "limit": limit, "cursor": encode_cursor(next_id)}
    return PageLinks(own, Link(f"{path}?{urlencode(params)}"))


def self_link(href: str) -> SelfLinks:
    return SelfLinks(Link(href))


class _HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


RowT = TypeVar("RowT", bound=_HasId)


def split_page(rows: list[RowT], limit: int) -> tuple[list[RowT], uuid.UUID | None]:
    """The rows of the page and the id to continue after (rows were fetched with limit + 1)."""
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def paginate(
    rows: list[RowT], limit: int, path: str, **query: str | None
) -> tuple[list[RowT], PageLinks]:
    """The rows of the page (fetched with limit + 1) and the page's links."""
    page, next_id = split_page(rows, limit)
    return page, list_links(path, limit, next_id, **query)
