"""Deliveries (one per message and listener: the workers' work queue) and their attempts."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin, IdMixin

DELIVERY_STATUSES = ("pending", "in_flight", "delivered", "failed", "cancelled")


OPEN_STATUSES = ("pending", "in_flight")  # a delivery that may still be attempted


class Delivery(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'in_flight', 'delivered', 'failed', 'cancelled')", name="status"
        ),
        # The claim path: a listener's due pending deliveries, oldest first.
        Index(
            "ix_deliveries_due",
            "listener_id",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # Per-listener listings walk deliveries in ingest order.
        Index("ix_deliveries_listener_id_id", "listener_id", "id"),
        # Ordered listeners: the oldest unfinished message, without walking finished ones.
        Index(
            "ix_deliveries_open",
            "listener_id",
            "message_id",
            postgresql_where=text("status IN ('pending', 'in_flight')"),
        ),
        # The sweeper: leases that ran out.
        Index(
            "ix_deliveries_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'in_flight'"),
        ),
        Index("ix_deliveries_message_id", "message_id"),
        {
            "postgresql_with": {
                "autovacuum_vacuum_scale_factor": "0.01",
                "autovacuum_analyze_scale_factor": "0.02",
                "fillfactor": "80",
            }
        },
    )

    # No foreign keys on the ingest tables: see migration 0004.
    message_id: Mapped[uuid.UUID]
    listener_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(Text, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts made before the last manual retry or replay, which starts the schedule anew.
    retry_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class Attempt(Base):
    """One try of a delivery; (delivery_id, number) makes recording it idempotent."""

    __tablename__ = "attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
