"""Deliveries (one per message and listener: the workers' work queue) and their attempts."""

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin
from service.deliveries.state import OPEN, PENDING, DeliveryStatus, sql_list


class Delivery(CreatedAtMixin, Base):
    """A message on its way to one listener. It has no id of its own: within its listener it
    is named by its message id (the API's delivery id and the `webhook-id`), so the primary
    key also serves per-listener listings and a message's deliveries (migration 0006)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        PrimaryKeyConstraint("listener_id", "message_id"),
        CheckConstraint(f"status IN {sql_list(DeliveryStatus)}", name="status"),
        # The claim path: a listener's due pending deliveries, oldest first.
        Index(
            "ix_deliveries_due",
            "listener_id",
            "next_attempt_at",
            postgresql_where=text(f"status = '{PENDING}'"),
        ),
        # Ordered listeners: the oldest unfinished message, without walking finished ones
        # (only their rows: an entry per delivery would cost every ingest, migration 0007).
        Index(
            "ix_deliveries_ordered_open",
            "listener_id",
            "message_id",
            postgresql_where=text(f"ordered AND status IN {sql_list(OPEN)}"),
        ),
        # The sweeper: leases that ran out. Only in-flight deliveries hold a lease; the
        # predicate does not name the status so that the recorder's status guard never
        # picks this index over the primary key (migration 0007).
        Index(
            "ix_deliveries_lease",
            "lease_expires_at",
            postgresql_where=text("lease_expires_at IS NOT NULL"),
        ),
        {
            "postgresql_with": {
                "autovacuum_vacuum_scale_factor": "0.01",
                "autovacuum_analyze_scale_factor": "0.02",
                "fillfactor": "80",
            }
        },
    )

    # No foreign keys on the ingest tables: see migration 0004.
    listener_id: Mapped[uuid.UUID]
    message_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(Text, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A copy of the listener's `ordered`, kept while the delivery is open (see the index).
    ordered: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Attempts made before the last manual retry or replay, which starts the schedule anew.
    retry_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]

    @property
    def id(self) -> uuid.UUID:
        return self.message_id


class Attempt(Base):
    """One try of a delivery; its key (delivery, number) makes recording it idempotent.
    No foreign key to its delivery (migration 0008): the retention purge deletes both."""

    __tablename__ = "attempts"
    __table_args__ = (PrimaryKeyConstraint("listener_id", "message_id", "number"),)

    listener_id: Mapped[uuid.UUID]
    message_id: Mapped[uuid.UUID]
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
