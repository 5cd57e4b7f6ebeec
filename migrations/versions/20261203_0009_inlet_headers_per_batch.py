"""an inlet request's headers are stored once, on its batch, not on each of its messages

A split inlet request of 10,000 items with 16 KiB of headers wrote 160 MB of copies. The
headers move to `batches.original_headers`; a message says whether it has them
(`has_original_headers`), so a claim looks the batch up only for inlet messages.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "ALTER TABLE batches ADD COLUMN original_headers jsonb",
    "ALTER TABLE messages ADD COLUMN has_original_headers boolean NOT NULL DEFAULT false",
    "UPDATE batches b SET original_headers = m.original_headers"
    " FROM (SELECT DISTINCT ON (batch_id) batch_id, original_headers FROM messages"
    "        WHERE original_headers IS NOT NULL) m"
    " WHERE b.id = m.batch_id",
    "UPDATE messages SET has_original_headers = true WHERE original_headers IS NOT NULL",
    "ALTER TABLE messages DROP COLUMN original_headers",
]
DOWNGRADE = [
    "ALTER TABLE messages ADD COLUMN original_headers jsonb",
    "UPDATE messages m SET original_headers = b.original_headers FROM batches b"
    " WHERE m.has_original_headers AND b.id = m.batch_id",
    "ALTER TABLE messages DROP COLUMN has_original_headers",
    "ALTER TABLE batches DROP COLUMN original_headers",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
