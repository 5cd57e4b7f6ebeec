"""activity minutes

`ingest_minutes` (messages per queue and minute) and `delivery_minutes` (attempts per
listener and minute by outcome, with a cumulative histogram of response times): what the
console's rates and charts read.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ingest_minutes (
            queue_id uuid NOT NULL,
            minute timestamptz NOT NULL,
            org_id uuid NOT NULL,
            messages bigint DEFAULT 0 NOT NULL,
            CONSTRAINT pk_ingest_minutes PRIMARY KEY (queue_id, minute)
        )
        """
    )
    op.execute("CREATE INDEX ix_ingest_minutes_org_id_minute ON ingest_minutes (org_id, minute)")
    buckets = ",\n".join(f"le_{bound} bigint DEFAULT 0 NOT NULL" for bound in BOUNDS_MS)
    op.execute(
        f"""
        CREATE TABLE delivery_minutes (
            listener_id uuid NOT NULL,
            minute timestamptz NOT NULL,
            org_id uuid NOT NULL,
            queue_id uuid NOT NULL,
            delivered bigint DEFAULT 0 NOT NULL,
            retried bigint DEFAULT 0 NOT NULL,
            failed bigint DEFAULT 0 NOT NULL,
            {buckets},
            CONSTRAINT pk_delivery_minutes PRIMARY KEY (listener_id, minute)
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_delivery_minutes_org_id_minute ON delivery_minutes (org_id, minute)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE delivery_minutes")
    op.execute("DROP TABLE ingest_minutes")
