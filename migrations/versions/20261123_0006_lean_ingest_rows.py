"""lean ingest rows: the payload inside its message, messages keyed by queue, deliveries
keyed by (listener, message)

Ingest writes these rows for every message, so each index on them is paid for on the hot
path: measured with 1,000-message groups, 3 rows and 9 index entries per message stored
~25,000 messages/s; 2 rows and 4 index entries, ~55,000.

- message_payloads is folded into messages (`body`), one row and one index less;
- messages get the primary key (queue_id, id): every read names its queue, and the
  (queue_id, id) index is no longer needed beside it; a batch's messages are found in
  the id range (batch id, last_message_id] of its queue instead of a batch index;
- a delivery is named by its listener and message: the primary key (listener_id,
  message_id) replaces the delivery id and the listener and message indexes. A delivery's
  id in the API and in `webhook-id` is its message id (as Svix does). Deliveries that
  existed before this migration get that id too; their next attempt carries the new one.
- attempts follow their delivery's new key; deleted_queues keep the ids of the queue's
  listeners, which the purge needs to find their deliveries once the listeners are gone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    # What a deleted queue's listeners were, while deliveries still say which queue they
    # belong to through their messages.
    "ALTER TABLE deleted_queues ADD COLUMN listener_ids uuid[] NOT NULL DEFAULT '{}'",
    """UPDATE deleted_queues q SET listener_ids = ARRAY(
           SELECT DISTINCT d.listener_id FROM deliveries d JOIN messages m ON m.id = d.message_id
            WHERE m.queue_id = q.queue_id)""",
    "ALTER TABLE batches ADD COLUMN last_message_id uuid",
    "UPDATE batches b SET last_message_id = (SELECT m.id FROM messages m"
    " WHERE m.batch_id = b.id ORDER BY m.id DESC LIMIT 1)",
    "ALTER TABLE messages ADD COLUMN body bytea",
    "UPDATE messages m SET body = p.body FROM message_payloads p WHERE p.message_id = m.id",
    "UPDATE messages SET body = '' WHERE body IS NULL",
    "ALTER TABLE messages ALTER COLUMN body SET NOT NULL",
    "DROP TABLE message_payloads",
    "DROP INDEX ix_messages_queue_id_id",
    "DROP INDEX ix_messages_batch_id_index",
    "ALTER TABLE messages DROP CONSTRAINT pk_messages",
    "ALTER TABLE messages ADD CONSTRAINT pk_messages PRIMARY KEY (queue_id, id)",
    "ALTER TABLE attempts ADD COLUMN listener_id uuid, ADD COLUMN message_id uuid",
    "UPDATE attempts a SET listener_id = d.listener_id, message_id = d.message_id"
    " FROM deliveries d WHERE d.id = a.delivery_id",
    "DELETE FROM attempts WHERE listener_id IS NULL",
    "ALTER TABLE attempts DROP COLUMN delivery_id",  # with its key and foreign key
    "ALTER TABLE attempts ALTER COLUMN listener_id SET NOT NULL,"
    " ALTER COLUMN message_id SET NOT NULL",
    "DROP INDEX ix_deliveries_listener_id_id",
    "DROP INDEX ix_deliveries_message_id",
    "ALTER TABLE deliveries DROP COLUMN id",  # with pk_deliveries
    "ALTER TABLE deliveries ADD CONSTRAINT pk_deliveries PRIMARY KEY (listener_id, message_id)",
    "ALTER TABLE attempts ADD CONSTRAINT pk_attempts PRIMARY KEY (listener_id, message_id, number)",
    "ALTER TABLE attempts ADD CONSTRAINT fk_attempts_listener_id_deliveries"
    " FOREIGN KEY (listener_id, message_id) REFERENCES deliveries (listener_id, message_id)"
    " ON DELETE CASCADE",
]

DOWNGRADE = [
    "ALTER TABLE attempts DROP CONSTRAINT fk_attempts_listener_id_deliveries",
    "ALTER TABLE attempts DROP CONSTRAINT pk_attempts",
    "ALTER TABLE deliveries DROP CONSTRAINT pk_deliveries",
    "ALTER TABLE deliveries ADD COLUMN id uuid",
    "UPDATE deliveries SET id = herald_uuid7()",
    "ALTER TABLE deliveries ALTER COLUMN id SET NOT NULL",
    "ALTER TABLE deliveries ADD CONSTRAINT pk_deliveries PRIMARY KEY (id)",
    "CREATE INDEX ix_deliveries_listener_id_id ON deliveries (listener_id, id)",
    "CREATE INDEX ix_deliveries_message_id ON deliveries (message_id)",
    "ALTER TABLE attempts ADD COLUMN delivery_id uuid",
    "UPDATE attempts a SET delivery_id = d.id FROM deliveries d"
    " WHERE d.listener_id = a.listener_id AND d.message_id = a.message_id",
    "ALTER TABLE attempts DROP COLUMN listener_id, DROP COLUMN message_id",
    "ALTER TABLE attempts ALTER COLUMN delivery_id SET NOT NULL",
    "ALTER TABLE attempts ADD CONSTRAINT pk_attempts PRIMARY KEY (delivery_id, number)",
    "ALTER TABLE attempts ADD CONSTRAINT fk_attempts_delivery_id_deliveries"
    " FOREIGN KEY (delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE",
    "ALTER TABLE messages DROP CONSTRAINT pk_messages",
    "ALTER TABLE messages ADD CONSTRAINT pk_messages PRIMARY KEY (id)",
    "CREATE INDEX ix_messages_queue_id_id ON messages (queue_id, id)",
    "CREATE INDEX ix_messages_batch_id_index ON messages (batch_id, index)",
    """CREATE TABLE message_payloads (
           message_id uuid NOT NULL CONSTRAINT pk_message_payloads PRIMARY KEY,
           body bytea NOT NULL,
           created_at timestamptz NOT NULL)""",
    "INSERT INTO message_payloads (message_id, body, created_at)"
    " SELECT id, body, received_at FROM messages",
    "ALTER TABLE messages DROP COLUMN body",
    "ALTER TABLE batches DROP COLUMN last_message_id",
    "ALTER TABLE deleted_queues DROP COLUMN listener_ids",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
