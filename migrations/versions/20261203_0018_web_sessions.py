"""console sessions

`web_sessions`: a browser session of the console, by the SHA-256 of its cookie's token,
acting as the API key that signed in (gone with the key).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE web_sessions (
            token_hash bytea NOT NULL,
            api_key_id uuid NOT NULL,
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            CONSTRAINT pk_web_sessions PRIMARY KEY (token_hash),
            CONSTRAINT fk_web_sessions_api_key_id_api_keys FOREIGN KEY (api_key_id)
                REFERENCES api_keys (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX ix_web_sessions_api_key_id ON web_sessions (api_key_id)")


def downgrade() -> None:
    op.execute("DROP TABLE web_sessions")
