"""Queues: named streams of messages inside an organization."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Text, UniqueConstraint, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin, IdMixin, utcnow


class Queue(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "queues"
    __table_args__ = (
        UniqueConstraint("org_id", "name", name="uq_queues_org_id_name"),
        Index(
            "uq_queues_events_queue",
            "org_id",
            unique=True,
            postgresql_where=text("operational_events"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    retention_days: Mapped[int | None]
    # A JSON pointer (`/type`): each JSON message's event type, unless its request gives one.
    event_type_field: Mapped[str | None] = mapped_column(Text)
    # Reject a message whose body does not satisfy its event type's schema.
    validate_schemas: Mapped[bool] = mapped_column(default=False, server_default="false")
    # The organization's events queue (at most one): Herald's operational events go here.
    operational_events: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Moved on by every change to what routes its messages (service/routing).
    routing_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeletedQueue(Base):
    """A deleted queue whose messages the retention purge has not finished deleting."""

    __tablename__ = "deleted_queues"

    queue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its listeners (gone with the queue): the purge finds their deliveries by listener.
    listener_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default="{}"
    )
