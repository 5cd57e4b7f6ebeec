"""portal sessions

`portal_sessions`: an end customer's access to one queue (or some of its listeners) with
granted capabilities and branding; a one-time sign-in link, then a browser cookie (both
stored as SHA-256).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE portal_sessions (
            id uuid NOT NULL,
            org_id uuid NOT NULL,
            queue_id uuid NOT NULL,
            listener_ids uuid[],
            capabilities text[] NOT NULL,
            branding jsonb NOT NULL,
            link_token_hash bytea,
            cookie_token_hash bytea,
            expires_at timestamptz NOT NULL,
            ended_at timestamptz,
            created_at timestamptz NOT NULL,
            CONSTRAINT pk_portal_sessions PRIMARY KEY (id),
            CONSTRAINT uq_portal_sessions_link_token_hash UNIQUE (link_token_hash),
            CONSTRAINT uq_portal_sessions_cookie_token_hash UNIQUE (cookie_token_hash)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE portal_sessions")
