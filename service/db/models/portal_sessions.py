"""Portal sessions: an end customer's access to one queue (or some of its listeners), with
the capabilities an operator granted, until it expires or is ended."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin, IdMixin


class PortalSession(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "portal_sessions"

    org_id: Mapped[uuid.UUID]
    queue_id: Mapped[uuid.UUID]
    # None: every listener of the queue (and the customer may add listeners).
    listener_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid))
    capabilities: Mapped[list[str]] = mapped_column(ARRAY(Text))
    branding: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # SHA-256 of the one-time sign-in link's token, cleared when the link is used.
    link_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    # SHA-256 of the browser cookie's token, set when the link is used.
    cookie_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
