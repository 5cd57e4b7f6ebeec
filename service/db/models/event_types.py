"""A queue's event types: registered ones (with a description and a JSON Schema) and every
type its messages carried, counted."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base


class EventType(Base):
    __tablename__ = "event_types"

    queue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    registered: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    description: Mapped[str | None] = mapped_column(Text)
    schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Messages seen with this type, counted by the API processes (service/event_types/counts.py).
    messages: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    last_seen_at: Mapped[datetime | None]
