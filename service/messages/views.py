"""Views of messages, deliveries and attempts, read from the models' attributes."""

from __future__ import annotations

import msgspec

from service.db.models import Attempt, Delivery, Message
from service.deliveries.schemas import AttemptView, DeliveryView
from service.messages.schemas import MessageView


def message_view(message: Message) -> MessageView:
    return msgspec.convert(message, MessageView, from_attributes=True)


def delivery_view(delivery: Delivery) -> DeliveryView:
    return msgspec.convert(delivery, DeliveryView, from_attributes=True)


def attempt_view(attempt: Attempt, event_type: str | None) -> AttemptView:
    view = msgspec.convert(attempt, AttemptView, from_attributes=True)
    view.event_type = event_type
    return view
