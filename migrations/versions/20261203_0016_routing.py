"""listeners' body filters, schema validation, and each queue's routing version

`listeners.filter` (jsonb, null: none) and `listeners.selective`, whether the listener has
filter_types or a filter (only then does fan-out need a verdict for it).
`listeners.filter_types_like` goes: types are judged in Python like body filters.
`queues.validate_schemas` and `queues.routing_version`, moved on by every change to what
routes the queue's messages (see service/routing).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE listeners ADD COLUMN filter jsonb")
    op.execute(
        "ALTER TABLE listeners ADD COLUMN selective boolean NOT NULL"
        " GENERATED ALWAYS AS (filter_types IS NOT NULL OR filter IS NOT NULL) STORED"
    )
    op.execute("ALTER TABLE listeners DROP COLUMN filter_types_like")
    op.execute("ALTER TABLE queues ADD COLUMN validate_schemas boolean NOT NULL DEFAULT false")
    op.execute("ALTER TABLE queues ADD COLUMN routing_version bigint NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute("ALTER TABLE queues DROP COLUMN routing_version")
    op.execute("ALTER TABLE queues DROP COLUMN validate_schemas")
    op.execute("ALTER TABLE listeners ADD COLUMN filter_types_like text[]")
    op.execute(
        "UPDATE listeners SET filter_types_like ="
        " (SELECT array_agg(replace(replace(p, '_', '\\_'), '*', '%')) FROM unnest(filter_types) p)"
        " WHERE filter_types IS NOT NULL"
    )
    op.execute("ALTER TABLE listeners DROP COLUMN selective")
    op.execute("ALTER TABLE listeners DROP COLUMN filter")
