"""Ingest-side records: inlets, batches (one per ingest request), their failures, messages."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, PrimaryKeyConstraint, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin, IdMixin, utcnow
from service.lib.ids import new_id


class Inlet(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "inlets"
    __table_args__ = (Index("ix_inlets_queue_id_id", "queue_id", "id"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)


class Batch(IdMixin, Base):
    __tablename__ = "batches"
    __table_args__ = (
        Index(
            "uq_batches_queue_id_idempotency_key",
            "queue_id",
            "idempotency_key",
            unique=True,
            postgresql_where="idempotency_key IS NOT NULL",
        ),
    )

    # No foreign keys on the ingest tables: see migration 0004.
    org_id: Mapped[uuid.UUID]
    queue_id: Mapped[uuid.UUID]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    # The batch's messages are the ids (id, last_message_id] of its queue (migration 0006).
    last_message_id: Mapped[uuid.UUID | None]
    # The first response, replayed verbatim to a repeat with the same Idempotency-Key.
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # SHA-256 of an idempotent request: a repeat of its key must carry the same request.
    request_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Headers of an inlet request, forwarded as herald-original-* with each of its messages.
    original_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)


class BatchFailure(Base):
    __tablename__ = "batch_failures"

    batch_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class Message(Base):
    """One accepted message with its bytes. Keyed by queue: every read names the queue, and
    ids are UUIDv7, so (queue_id, id) is also the newest-first listing and retention order."""

    __tablename__ = "messages"
    __table_args__ = (PrimaryKeyConstraint("queue_id", "id"),)

    # No foreign keys on the ingest tables: see migration 0004.
    id: Mapped[uuid.UUID] = mapped_column(default=new_id)
    org_id: Mapped[uuid.UUID]
    queue_id: Mapped[uuid.UUID]
    batch_id: Mapped[uuid.UUID]
    index: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its batch has original_headers (an inlet message; migration 0009).
    has_original_headers: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    event_type: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
