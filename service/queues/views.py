"""Queue response bodies, built from the model."""

from __future__ import annotations

import msgspec

from service.db.models import Queue
from service.lib.pagination import self_link
from service.queues.schemas import QueueResponse, QueueView


def queue_view(queue: Queue) -> QueueView:
    return msgspec.convert(queue, QueueView, from_attributes=True)


def queue_response(queue: Queue) -> QueueResponse:
    return QueueResponse(queue_view(queue), self_link(f"/v1/queues/{queue.id}"))
