"""Activity per minute, for the console's charts and rates: messages ingested per queue, and
attempts per listener by outcome with their response times as a cumulative histogram.
Written by each process's counters once a second (service/stats/minutes.py)."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, PrimaryKeyConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base

# Upper bounds (ms) of the response-time buckets: le_10 counts attempts answered within 10 ms.
LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)


class IngestMinute(Base):
    __tablename__ = "ingest_minutes"
    __table_args__ = (
        PrimaryKeyConstraint("queue_id", "minute"),
        Index("ix_ingest_minutes_org_id_minute", "org_id", "minute"),
    )

    queue_id: Mapped[uuid.UUID]
    minute: Mapped[datetime]
    org_id: Mapped[uuid.UUID]
    messages: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class DeliveryMinute(Base):
    __tablename__ = "delivery_minutes"
    __table_args__ = (
        PrimaryKeyConstraint("listener_id", "minute"),
        Index("ix_delivery_minutes_org_id_minute", "org_id", "minute"),
    )

    listener_id: Mapped[uuid.UUID]
    minute: Mapped[datetime]
    org_id: Mapped[uuid.UUID]
    queue_id: Mapped[uuid.UUID]
    delivered: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    retried: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    failed: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_10: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_25: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_50: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_100: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_250: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_500: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_1000: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_2500: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_5000: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_10000: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    le_30000: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
