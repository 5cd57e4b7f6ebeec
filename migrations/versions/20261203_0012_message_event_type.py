"""messages carry an event type

`messages.event_type` (text, null for untyped messages): set per request by the
Herald-Event-Type header or ?event_type=.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE messages ADD COLUMN event_type text")


def downgrade() -> None:
    op.execute("ALTER TABLE messages DROP COLUMN event_type")
