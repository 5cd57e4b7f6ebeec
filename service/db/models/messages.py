"""Ingest-side records: inlets, batches (one per ingest request), their failures, messages."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin, IdMixin, utcnow


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
    # The first response, replayed verbatim to a repeat with the same Idempotency-Key.
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class BatchFailure(Base):
    __tablename__ = "batch_failures"

    batch_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_queue_id_id", "queue_id", "id"),
        Index("ix_messages_batch_id_index", "batch_id", "index"),
    )

    org_id: Mapped[uuid.UUID]
    queue_id: Mapped[uuid.UUID]
    batch_id: Mapped[uuid.UUID]
    index: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Headers of an inlet request, forwarded as herald-original-* on delivery.
    original_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)


class MessagePayload(CreatedAtMixin, Base):
    """The bytes of a message, kept apart so that retention can drop them on their own."""

    __tablename__ = "message_payloads"

    message_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
