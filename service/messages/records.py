"""What one ingest request asks the writer to store, and what the writer answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.db.base import utcnow
from service.lib.ids import new_id, new_ids
from service.messages.splitting import Failure, Item
from service.routing.routing import Routed


@dataclass
class IngestJob:
    """One request's batch: written whole in one transaction, or not at all."""

    org_id: uuid.UUID
    queue_id: uuid.UUID
    batch_id: uuid.UUID
    received_at: datetime
    content_type: str
    items: list[Item]  # the accepted items, stored as messages
    # One per item, increasing and above batch_id: the batch's messages are the ids
    # (batch_id, last_message_id] of its queue.
    message_ids: list[uuid.UUID]
    failures: list[Failure]
    # The queue's routing_version the items were judged with (service/routing), and the
    # verdicts: (position in items, listener) for each selective listener that wants one.
    routing_version: int = 0
    verdicts: list[tuple[int, uuid.UUID]] = field(default_factory=list)
    original_headers: dict[str, str] | None = None
    idempotency_key: str | None = None
    # SHA-256 of the request, kept with an idempotent batch (see idempotency.py).
    request_hash: bytes | None = None
    # The response to replay to a repeat of an idempotent request.
    response: dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        org_id: uuid.UUID,
        queue_id: uuid.UUID,
        content_type: str,
        routed: Routed,
        routing_version: int,
        **fields: Any,
    ) -> IngestJob:
        """A new batch of the items `routed` kept, with fresh ids."""
        batch_id = new_id()  # made first: every message id of the batch is above it
        return cls(
            org_id=org_id,
            queue_id=queue_id,
            batch_id=batch_id,
            received_at=utcnow(),
            content_type=content_type,
            items=routed.items,
            message_ids=new_ids(len(routed.items)),
            failures=routed.failures,
            routing_version=routing_version,
            verdicts=routed.verdicts,
            **fields,
        )

    @property
    def size(self) -> int:
        """Bytes of message bodies and failures' raw bytes, about what the job sends."""
        return sum(len(i.body) for i in self.items) + sum(len(f.raw) for f in self.failures)

    @property
    def last_message_id(self) -> uuid.UUID | None:
        return self.message_ids[-1] if self.message_ids else None

    @property
    def batch_values(self) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime, int, int]:
        """The batch row's id, org_id, queue_id, received_at, accepted, rejected."""
        return (
            self.batch_id,
            self.org_id,
            self.queue_id,
            self.received_at,
            len(self.items),
            len(self.failures),
        )


class StaleRouting(Exception):
    """The queue's routing changed since the job was judged: nothing of it was stored."""


@dataclass(frozen=True)
class WriteOutcome:
    """Committed. `replayed` is the first response when this was an idempotent repeat."""

    replayed: dict[str, Any] | None = None
    listener_ids: tuple[uuid.UUID, ...] = ()
