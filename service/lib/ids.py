"""Time-ordered UUIDv7 identifiers."""

import uuid

import uuid_utils

_UNKNOWN = uuid.SafeUUID.unknown  # an enum lookup per call costs more than the id itself
_new = object.__new__
_set = object.__setattr__


def new_id() -> uuid.UUID:
    """A fresh UUIDv7 (monotonic within this process) as a standard-library UUID."""
    value = _new(uuid.UUID)
    _set(value, "int", uuid_utils.uuid7().int)
    _set(value, "is_safe", _UNKNOWN)
    return value


def parse_id(value: str) -> uuid.UUID | None:
    """The UUID spelled by `value`, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
