"""a queue may name the JSON field that gives each message its event type

`queues.event_type_field` (a JSON pointer such as `/type`, null: none).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE queues ADD COLUMN event_type_field text")


def downgrade() -> None:
    op.execute("ALTER TABLE queues DROP COLUMN event_type_field")
