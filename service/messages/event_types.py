"""A message's event type: what it is, and how a request gives it (contract, "Event types
and routing")."""

from __future__ import annotations

import re

import msgspec

from service.lib.json_pointer import MISSING, resolve
from service.messages.splitting import RAW_FAILURE_BYTES as RAW_BYTES
from service.messages.splitting import Failure, Item, Split

EVENT_TYPE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
HEADER = "herald-event-type"
QUERY = "event_type"
RULE = "1 to 128 characters of A-Z a-z 0-9 _ . - :"


def event_type_error(value: str) -> str | None:
    """Why `value` is not an event type, or None."""
    if EVENT_TYPE.fullmatch(value):
        return None
    return f"an event type is {RULE}"


def type_items(split: Split, field: str) -> Split:
    """Each item's event type from its JSON body at `field` (a JSON pointer). An item whose
    value there is not a string, or whose body is not JSON, stays untyped; one whose value
    is not a valid event type is rejected with the reason."""
    kept: list[Item] = []
    failures = list(split.failures)
    for item in split.items:
        try:
            value = resolve(_decode(item.body), field)
        except (msgspec.DecodeError, RecursionError):
            value = MISSING
        if isinstance(value, str):
            if reason := event_type_error(value):
                failures.append(Failure(item.index, f"{field}: {reason}", item.body[:RAW_BYTES]))
                continue
            item.event_type = value
        kept.append(item)
    failures.sort(key=lambda failure: failure.index)
    return Split(items=kept, failures=failures)


_decode = msgspec.json.Decoder().decode
