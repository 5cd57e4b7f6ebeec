"""Browser sessions of the console: the cookie's token (stored hashed) names the API key
that signed in, whose organization and current scopes the session acts with."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAtMixin


class WebSession(CreatedAtMixin, Base):
    __tablename__ = "web_sessions"

    # SHA-256 of the cookie's random token.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    # Deleting the key ends its sessions.
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime]
