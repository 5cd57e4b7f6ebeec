"""a batch stored under an Idempotency-Key keeps a hash of its request

A repeat of the key with another request is then refused (422) instead of answered with
the first request's response.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE batches ADD COLUMN request_hash bytea")


def downgrade() -> None:
    op.execute("ALTER TABLE batches DROP COLUMN request_hash")
