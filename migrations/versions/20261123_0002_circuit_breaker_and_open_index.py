"""circuit breaker columns, delivery retry base, index of open deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "listeners",
        sa.Column("delivery_failures", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "listeners", sa.Column("circuit_open_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "deliveries", sa.Column("retry_base", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_index(
        "ix_deliveries_open",
        "deliveries",
        ["listener_id", "message_id"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'in_flight')"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_open", table_name="deliveries")
    op.drop_column("deliveries", "retry_base")
    op.drop_column("listeners", "circuit_open_until")
    op.drop_column("listeners", "delivery_failures")
