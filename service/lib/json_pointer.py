"""JSON pointers (RFC 6901) over decoded JSON: `/type`, `/data/0/kind`."""

from __future__ import annotations

from typing import Any

# Each reference token escapes `~` as `~0` and `/` as `~1`.
POINTER_PATTERN = r"^(/([^~/]|~[01])*)*$"
MISSING = object()


def resolve(document: Any, pointer: str) -> Any:
    """The value `pointer` names in `document`, or MISSING."""
    if not pointer:
        return document
    value = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            value = value.get(token, MISSING)
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value
