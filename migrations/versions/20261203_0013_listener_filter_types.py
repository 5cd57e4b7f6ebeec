"""listeners choose the event types they receive

`listeners.filter_types` (text[], null: every message) as given, and `filter_types_like`,
the same as LIKE patterns, which fan-out matches `messages.event_type` against.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE listeners ADD COLUMN filter_types text[]")
    op.execute("ALTER TABLE listeners ADD COLUMN filter_types_like text[]")


def downgrade() -> None:
    op.execute("ALTER TABLE listeners DROP COLUMN filter_types_like")
    op.execute("ALTER TABLE listeners DROP COLUMN filter_types")
