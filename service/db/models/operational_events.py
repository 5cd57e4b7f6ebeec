"""The outbox of operational events (service/operational_events): written by the statement
that makes the change, deleted when the event is a message of the events queue."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base


class OperationalEventRow(Base):
    __tablename__ = "operational_events"
    # Made in SQL (herald_uuid7): the statements that write events are SQL.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=text("herald_uuid7()"))
    org_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
