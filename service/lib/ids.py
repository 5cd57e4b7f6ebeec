"""Time-ordered UUIDv7 identifiers, increasing within a process.

Ids are asyncpg's own UUID type (a `uuid.UUID` subclass): it is built from bytes in C and
asyncpg encodes it without a conversion, which matters at thousands of ids per request.
"""

import uuid
from datetime import UTC, datetime

import uuid_utils
from asyncpg.pgproto.pgproto import UUID as _FastUUID

_last = 0  # the largest id handed out by this process
BEFORE_ALL = uuid.UUID(int=0)  # bounds of an id range that leaves nothing out
AFTER_ALL = uuid.UUID(int=(1 << 128) - 1)


def _reserve(count: int) -> int:
    """The first of `count` consecutive ids, all above every id made before."""
    global _last
    first = uuid_utils.uuid7().int
    if first <= _last:  # same millisecond as a reserved block, or the clock went back
        first = _last + 1
    _last = first + count - 1
    return first


def new_id() -> uuid.UUID:
    """A fresh UUIDv7."""
    value: uuid.UUID = _FastUUID(_reserve(1).to_bytes(16, "big"))
    return value


def new_ids(count: int) -> list[uuid.UUID]:
    """`count` fresh UUIDv7s in increasing order, consecutive in their random bits (the 62
    random bits of a UUIDv7 leave room for any count a request can hold)."""
    first = _reserve(count)
    return [_FastUUID((first + n).to_bytes(16, "big")) for n in range(count)]


def parse_id(value: str) -> uuid.UUID | None:
    """The UUID spelled by `value`, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def id_floor(at: datetime) -> uuid.UUID:
    """The smallest UUIDv7 of the millisecond `at`: every id below it is older."""
    return uuid.UUID(int=int(at.timestamp() * 1000) << 80)


def id_time(value: uuid.UUID) -> datetime:
    """When a UUIDv7 was made (to the millisecond)."""
    return datetime.fromtimestamp((value.int >> 80) / 1000, UTC)
