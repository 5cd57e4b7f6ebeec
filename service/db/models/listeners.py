"""Listeners: the destinations (webhook URL or Kafka topic) that receive a queue's messages."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin, IdMixin, utcnow


class Listener(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "listeners"
    __table_args__ = (
        CheckConstraint("type IN ('webhook', 'kafka')", name="type"),
        CheckConstraint("status IN ('active', 'paused', 'disabled')", name="status"),
        CheckConstraint("health_state IN ('live', 'unreachable', 'unknown')", name="health_state"),
        Index("ix_listeners_queue_id_id", "queue_id", "id", postgresql_where="deleted_at IS NULL"),
        Index("ix_listeners_liveness", "id", postgresql_where="liveness_url IS NOT NULL"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text, default="webhook")
    notify_url: Mapped[str | None] = mapped_column(Text)
    liveness_url: Mapped[str | None] = mapped_column(Text)
    kafka_topic: Mapped[str | None] = mapped_column(Text)
    kafka_key: Mapped[str | None] = mapped_column(Text)
    # The extra request headers (often a receiver's credentials), a Fernet token of JSON.
    headers_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    timeout_ms: Mapped[int]
    max_attempts: Mapped[int]
    retry_schedule_s: Mapped[list[float] | None] = mapped_column(ARRAY(Float))
    ordered: Mapped[bool] = mapped_column(default=False)
    max_in_flight: Mapped[int]
    rate_limit_per_s: Mapped[float | None]
    # The event types it receives (exact names and `*` globs; None: every message) and
    # the conditions on their bodies (service/routing/filters.py; None: any body).
    filter_types: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    filter: Mapped[Any] = mapped_column(JSONB(none_as_null=True), nullable=True)
    # Fan-out gives it only the messages its judge picked (service/routing).
    selective: Mapped[bool] = mapped_column(
        Computed("filter_types IS NOT NULL OR filter IS NOT NULL", persisted=True)
    )

    status: Mapped[str] = mapped_column(Text, default="active")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Set when a delivery first fails after a success; cleared by the next success.
    failing_since: Mapped[datetime | None]

    # Fernet tokens: the signing secret, and the one it replaced while the overlap lasts.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]

    health_state: Mapped[str] = mapped_column(Text, default="unknown")
    health_checked_at: Mapped[datetime | None]
    health_consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Circuit breaker for listeners without a liveness_url, driven by delivery failures.
    delivery_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    circuit_open_until: Mapped[datetime | None]

    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Deleted listeners are kept (hidden) so their deliveries can show `cancelled`.
    deleted_at: Mapped[datetime | None]
