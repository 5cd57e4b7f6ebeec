"""operational events: an organization's events queue, and the outbox feeding it

`queues.operational_events` (at most one per organization) and `operational_events`, the
outbox rows that the statements making a change write (service/operational_events).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE queues ADD COLUMN operational_events boolean NOT NULL DEFAULT false")
    op.execute(
        "CREATE UNIQUE INDEX uq_queues_events_queue ON queues (org_id) WHERE operational_events"
    )
    op.execute(
        """
        CREATE TABLE operational_events (
            id uuid DEFAULT herald_uuid7() NOT NULL,
            org_id uuid NOT NULL,
            type text NOT NULL,
            data jsonb NOT NULL,
            occurred_at timestamptz DEFAULT now() NOT NULL,
            CONSTRAINT pk_operational_events PRIMARY KEY (id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE operational_events")
    op.execute("DROP INDEX uq_queues_events_queue")
    op.execute("ALTER TABLE queues DROP COLUMN operational_events")
