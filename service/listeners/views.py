"""The listener's public view (never includes its secret), built from the model."""

from __future__ import annotations

from service.auth import Principal
from service.config import Settings
from service.db.models import Listener
from service.lib.pagination import self_link
from service.lib.secrets import SecretBox
from service.listeners.schemas import KafkaTarget, ListenerHealth, ListenerResponse, ListenerView


def listener_href(listener: Listener) -> str:
    return f"/v1/queues/{listener.queue_id}/listeners/{listener.id}"


MASKED = "********"
WRITE_SCOPE = "queues:write"


def listener_view(
    listener: Listener, settings: Settings, principal: Principal, box: SecretBox
) -> ListenerView:
    """`headers` (often a receiver's credentials) show their values only to keys that may
    change the listener (queues:write); others see the names."""
    kafka = None
    if listener.kafka_topic is not None:
        kafka = KafkaTarget(topic=listener.kafka_topic, key=listener.kafka_key)
    health = ListenerHealth(
        state=listener.health_state if listener.liveness_url else "unknown",  # type: ignore[arg-type]
        checked_at=listener.health_checked_at,
        consecutive_failures=listener.health_consecutive_failures,
    )
    headers = box.open_headers(listener.headers_sealed)
    return ListenerView(
        id=listener.id,
        name=listener.name,
        queue_id=listener.queue_id,
        type=listener.type,
        notify_url=listener.notify_url,
        liveness_url=listener.liveness_url,
        kafka=kafka,
        headers={k: v if principal.allows(WRITE_SCOPE) else MASKED for k, v in headers.items()},
        timeout_ms=listener.timeout_ms,
        max_attempts=listener.max_attempts,
        retry_schedule_s=listener.retry_schedule_s or list(settings.retry_schedule_s),
        ordered=listener.ordered,
        max_in_flight=listener.max_in_flight,
        rate_limit_per_s=listener.rate_limit_per_s,
        enabled=listener.status != "paused",
        filter_types=listener.filter_types,
        filter=listener.filter,
        status=listener.status,  # type: ignore[arg-type]
        disabled_reason=listener.disabled_reason,
        health=health,
        created_at=listener.created_at,
        updated_at=listener.updated_at,
    )


def listener_response(
    listener: Listener, settings: Settings, principal: Principal, box: SecretBox
) -> ListenerResponse:
    view = listener_view(listener, settings, principal, box)
    return ListenerResponse(view, self_link(listener_href(listener)))
