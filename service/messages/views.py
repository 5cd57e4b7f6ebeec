"""JSON views of messages and deliveries."""

from __future__ import annotations

from typing import Any

from service.db.models import Delivery, Message


def message_view(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "queue_id": message.queue_id,
        "batch_id": message.batch_id,
        "index": message.index,
        "content_type": message.content_type,
        "size": message.size,
        "received_at": message.received_at,
    }


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "message_id": delivery.message_id,
        "listener_id": delivery.listener_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
    }
