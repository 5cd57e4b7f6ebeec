"""What one ingest request asks the writer to store, and what the writer answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.messages.splitting import Failure


@dataclass(frozen=True)
class NewMessage:
    id: uuid.UUID
    index: int
    content_type: str
    body: bytes


@dataclass
class IngestJob:
    """One request's batch: written whole in one transaction, or not at all."""

    org_id: uuid.UUID
    queue_id: uuid.UUID
    batch_id: uuid.UUID
    received_at: datetime
    messages: list[NewMessage]
    failures: list[Failure]
    original_headers: dict[str, str] | None = None
    idempotency_key: str | None = None
    # The response to replay to a repeat of an idempotent request.
    response: dict[str, Any] | None = None

    @property
    def last_message_id(self) -> uuid.UUID | None:
        """Ids are made in order, so a batch's messages are the ids (batch_id, this]."""
        return self.messages[-1].id if self.messages else None


@dataclass(frozen=True)
class WriteOutcome:
    """Committed. `replayed` is the first response when this was an idempotent repeat."""

    replayed: dict[str, Any] | None = None
    listener_ids: tuple[uuid.UUID, ...] = ()
