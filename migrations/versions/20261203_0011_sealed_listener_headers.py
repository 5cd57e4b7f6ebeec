"""listener headers are encrypted at rest; a check value for HERALD_SECRET_KEY

`listeners.headers` (jsonb) becomes `headers_sealed`, a Fernet token of the same JSON made
with HERALD_SECRET_KEY (which the migration therefore needs when listeners have headers).
`secret_key_check` holds one value sealed with the oldest key still in use.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:30:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.config import Settings
from service.lib.secrets import SecretBox

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _box() -> SecretBox:
    try:
        return SecretBox(Settings().secret_key)
    except ValueError as exc:
        raise RuntimeError(
            "listeners have headers to encrypt: set HERALD_SECRET_KEY and migrate again"
        ) from exc


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("listeners", sa.Column("headers_sealed", sa.LargeBinary(), nullable=True))
    rows = bind.execute(
        sa.text("SELECT id, headers FROM listeners WHERE headers IS NOT NULL AND headers <> '{}'")
    ).all()
    if rows:
        box = _box()
        for listener_id, headers in rows:
            bind.execute(
                sa.text("UPDATE listeners SET headers_sealed = :sealed WHERE id = :id"),
                {"sealed": box.seal_headers(headers), "id": listener_id},
            )
    op.drop_column("listeners", "headers")
    op.create_table(
        "secret_key_check",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_secret_key_check_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret_key_check")),
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table("secret_key_check")
    op.add_column(
        "listeners",
        sa.Column(
            "headers",
            sa.dialects.postgresql.JSONB(),
            nullable=True,
            server_default=sa.text("'{}'::jsonb"),
        ),
    )
    rows = bind.execute(
        sa.text("SELECT id, headers_sealed FROM listeners WHERE headers_sealed IS NOT NULL")
    ).all()
    if rows:
        box = _box()
        for listener_id, sealed in rows:
            bind.execute(
                sa.text("UPDATE listeners SET headers = CAST(:headers AS jsonb) WHERE id = :id"),
                {"headers": json.dumps(box.open_headers(sealed)), "id": listener_id},
            )
    op.execute("ALTER TABLE listeners ALTER COLUMN headers SET NOT NULL")
    op.execute("ALTER TABLE listeners ALTER COLUMN headers DROP DEFAULT")
    op.drop_column("listeners", "headers_sealed")
