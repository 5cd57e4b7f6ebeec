"""A queue's routing: everything ingest needs to know about a queue beyond its id, and the
one judge of its messages.

For each accepted item, `route` gives its event type (the request's, or the queue's
`event_type_field`), checks it against its type's schema when the queue validates, and
judges which selective listeners want it. Bodies are decoded at most once, and only when
something reads them.

`version` is the queue's `routing_version`, which every change to any of this moves on;
the ingest statement stores nothing judged with an older one (service/messages/store.py).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from service.lib.json_pointer import resolve
from service.messages.event_types import event_type_error
from service.messages.splitting import RAW_FAILURE_BYTES, Failure, Item, Split
from service.routing.filters import NOT_JSON
from service.routing.schemas import SchemaValidators, violation
from service.routing.selection import Selection

ABSENT_VERSION = -1  # a queue that was not found: never a stored version
# A request of 10,000 items judged by 1,000 conditions costs a second or two of CPU: in
# slices of this many items (milliseconds), so that other requests are served meanwhile.
JUDGED_PER_TURN = 128


@dataclass
class Routed:
    items: list[Item]
    failures: list[Failure]
    # (position in items, listener): the selective listeners that want each item.
    verdicts: list[tuple[int, uuid.UUID]] = field(default_factory=list)


@dataclass
class QueueRouting:
    version: int
    event_type_field: str | None = None
    selections: tuple[Selection, ...] = ()
    # Each registered type's schema (as JSON text) when the queue validates, else empty.
    schemas: dict[str, str] = field(default_factory=dict)
    validators: SchemaValidators | None = None

    @property
    def found(self) -> bool:
        return self.version != ABSENT_VERSION

    async def route(self, split: Split, request_type: str | None) -> Routed:
        """Judges every item, letting other requests run every JUDGED_PER_TURN items."""
        field_ = None if request_type is not None else self.event_type_field
        reads_body = (
            field_ is not None or bool(self.schemas) or any(s.reads_body for s in self.selections)
        )
        if not reads_body and not self.selections:  # nothing to judge: the common case
            for item in split.items:
                item.event_type = request_type
            return Routed(list(split.items), list(split.failures))
        items: list[Item] = []
        failures = list(split.failures)
        verdicts: list[tuple[int, uuid.UUID]] = []
        for count, item in enumerate(split.items, 1):
            if count % JUDGED_PER_TURN == 0:
                await asyncio.sleep(0)
            document = decode_body(item.body) if reads_body else NOT_JSON
            event_type = request_type
            if field_ is not None:
                found = resolve(document, field_) if document is not NOT_JSON else None
                if isinstance(found, str):
                    if reason := event_type_error(found):
                        failures.append(_failure(item, f"{field_}: {reason}"))
                        continue
                    event_type = found
            reason = self._violation(event_type, document) if self.schemas else None
            if reason is not None:
                failures.append(_failure(item, reason))
                continue
            item.event_type = event_type
            position = len(items)
            items.append(item)
            for selection in self.selections:
                if selection.wants(event_type, document):
                    verdicts.append((position, selection.listener_id))
        if len(failures) > len(split.failures):
            failures.sort(key=lambda failure: failure.index)
        return Routed(items, failures, verdicts)

    def _violation(self, event_type: str | None, document: Any) -> str | None:
        schema = self.schemas.get(event_type) if event_type is not None else None
        if schema is None or self.validators is None:
            return None  # types without a schema pass
        validator = self.validators.validator(schema)
        return None if validator is None else violation(validator, document)


def _failure(item: Item, reason: str) -> Failure:
    return Failure(item.index, reason, item.body[:RAW_FAILURE_BYTES])


_decoder = msgspec.json.Decoder()


def decode_body(body: bytes) -> Any:
    """A message body as JSON, or NOT_JSON."""
    try:
        return _decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return NOT_JSON
