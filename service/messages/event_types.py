"""A message's event type: what it is, and how a request gives it (contract, "Event types
and routing")."""

from __future__ import annotations

import re

EVENT_TYPE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
HEADER = "herald-event-type"
QUERY = "event_type"
RULE = "1 to 128 characters of A-Z a-z 0-9 _ . - :"


def event_type_error(value: str) -> str | None:
    """Why `value` is not an event type, or None."""
    if EVENT_TYPE.fullmatch(value):
        return None
    return f"an event type is {RULE}"
