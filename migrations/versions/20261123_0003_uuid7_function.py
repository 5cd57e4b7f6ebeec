"""herald_uuid7(): time-ordered ids made in SQL (delivery rows are fanned out by the database)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL 18 has uuidv7(); older servers get the same layout (48-bit Unix milliseconds,
# version 7, variant 10, random bits) from gen_random_uuid(), core since PostgreSQL 13.
NATIVE = "SELECT uuidv7()"
PORTABLE = """
    SELECT encode(
        set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
            PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                              FROM 3)
            FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
"""


def upgrade() -> None:
    native = op.get_bind().exec_driver_sql("SHOW server_version_num").scalar_one()
    body = NATIVE if int(native) >= 180000 else PORTABLE
    op.execute(f"CREATE FUNCTION herald_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$ {body} $$")


def downgrade() -> None:
    op.execute("DROP FUNCTION herald_uuid7()")
