"""Time-ordered UUIDv7 identifiers."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A fresh UUIDv7 as a standard-library UUID."""
    return uuid7()


def parse_id(value: str) -> uuid.UUID | None:
    """The UUID spelled by `value`, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
