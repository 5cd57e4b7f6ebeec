"""Rules for listeners. Never commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import msgspec

from service.config import Settings
from service.db.base import utcnow
from service.db.models import Listener
from service.errors import NotFound, enforce_quota, invalid_field
from service.lib.pagination import PageRequest
from service.lib.secrets import SecretBox, new_signing_secret
from service.listeners.repository import ListenerRepository
from service.listeners.rules import validate_target
from service.listeners.schemas import FilterTest, KafkaTarget, ListenerCreate, ListenerUpdate
from service.queues.repository import QueueRepository
from service.routing.filters import FilterError, conditions_in
from service.routing.selection import Selection

TARGET_FIELDS = ("type", "notify_url", "liveness_url", "kafka", "headers")
MAX_FILTER_BYTES = 16 * 1024
MAX_QUEUE_CONDITIONS = 1000


def _kafka_of(listener: Listener) -> KafkaTarget | None:
    if listener.kafka_topic is None:
        return None
    return KafkaTarget(topic=listener.kafka_topic, key=listener.kafka_key)


class ListenerService:
    def __init__(
        self,
        repository: ListenerRepository,
        queues: QueueRepository,
        settings: Settings,
        secrets: SecretBox,
        wake: Callable[[list[uuid.UUID]], None],
    ) -> None:
        self.repository = repository
        self.queues = queues
        self.settings = settings
        self.secrets = secrets
        self.wake = wake

    async def _require_queue(self, org_id: uuid.UUID, queue_id: uuid.UUID) -> None:
        if await self.queues.get(org_id, queue_id) is None:
            raise NotFound("Queue not found")

    async def get(self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID) -> Listener:
        listener = await self.repository.get(org_id, queue_id, listener_id)
        if listener is None:
            raise NotFound("Listener not found")
        return listener

    async def create(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, data: ListenerCreate
    ) -> Listener:
        """Validates the target (422), then stores the listener with a fresh signing secret."""
        await self._require_queue(org_id, queue_id)
        await self.queues.lock(queue_id)  # concurrent creates count one after the other
        quota = self.settings.quota_listeners_per_queue
        enforce_quota(await self.repository.count(queue_id), quota, "listeners in this queue")
        self._check_schedule(data.retry_schedule_s)
        await self._check_filter(queue_id, None, data.filter)
        target = {field: getattr(data, field) for field in TARGET_FIELDS}
        await validate_target(target, self.settings.egress_policy)
        listener = Listener(
            org_id=org_id,
            queue_id=queue_id,
            name=data.name,
            timeout_ms=data.timeout_ms or self.settings.default_timeout_ms,
            max_attempts=data.max_attempts or self.settings.default_max_attempts,
            retry_schedule_s=data.retry_schedule_s,
            ordered=data.ordered,
            max_in_flight=data.max_in_flight or self.settings.default_max_in_flight,
            rate_limit_per_s=data.rate_limit_per_s,
            status="active" if data.enabled else "paused",
            secret_encrypted=self.secrets.seal(new_signing_secret()),
            filter_types=data.filter_types,
            filter=data.filter,
        )
        self._apply_target(listener, target)
        if data.filter_types is not None or data.filter is not None:
            await self.queues.move_routing_on(queue_id)
        return await self.repository.add(listener)

    async def update(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID, data: ListenerUpdate
    ) -> Listener:
        listener = await self.get(org_id, queue_id, listener_id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        self._check_schedule(changes.get("retry_schedule_s"))
        if any(field in changes for field in TARGET_FIELDS):
            target = {
                "type": listener.type,
                "notify_url": listener.notify_url,
                "liveness_url": listener.liveness_url,
                "kafka": _kafka_of(listener),
                "headers": self.secrets.open_headers(listener.headers_sealed),
            }
            target.update({k: v for k, v in changes.items() if k in TARGET_FIELDS})
            await validate_target(target, self.settings.egress_policy)
            self._apply_target(listener, target)
        if "enabled" in changes:
            enabled = changes.pop("enabled")
            self._set_enabled(listener, enabled)
            if enabled:
                self.wake([listener.id])  # held messages go out now
        if "ordered" in changes and changes["ordered"] != listener.ordered:
            await self.repository.set_deliveries_ordered(listener.id, changes["ordered"])
        if "filter" in changes:
            await self.queues.lock(queue_id)  # concurrent changes count one after the other
            await self._check_filter(queue_id, listener.id, changes["filter"])
        if "filter_types" in changes or "filter" in changes:
            await self.queues.move_routing_on(queue_id)
        for field, value in changes.items():
            if field not in TARGET_FIELDS:
                setattr(listener, field, value)
        await self.repository.flush()
        return listener

    async def test_filter(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID, test: FilterTest
    ) -> bool:
        """Whether the listener would get a message of this payload and event type."""
        listener = await self.get(org_id, queue_id, listener_id)
        selection = Selection.of(listener.id, listener.filter_types, listener.filter)
        return selection.wants(test.event_type, test.payload)

    async def _check_filter(
        self, queue_id: uuid.UUID, listener_id: uuid.UUID | None, body_filter: Any
    ) -> None:
        """422 for a filter that is invalid, or that would take the queue's listeners past
        MAX_QUEUE_CONDITIONS in all (each message is judged by all of them)."""
        if body_filter is None:
            return
        if len(msgspec.json.encode(body_filter)) > MAX_FILTER_BYTES:
            raise invalid_field("filter", f"a filter is at most {MAX_FILTER_BYTES} bytes of JSON")
        try:
            conditions = conditions_in(body_filter)
        except FilterError as exc:
            raise invalid_field(exc.path, exc.message) from exc
        others = sum(
            conditions_in(other)
            for other in await self.repository.other_filters(queue_id, listener_id)
        )
        if others + conditions > MAX_QUEUE_CONDITIONS:
            raise invalid_field(
                "filter",
                f"the listeners of a queue hold at most {MAX_QUEUE_CONDITIONS} filter"
                f" conditions in all ({others} on the others, {conditions} here)",
            )

    def _check_schedule(self, schedule: list[float] | None) -> None:
        shortest = self.settings.min_retry_delay_s
        if schedule and min(schedule) < shortest:
            raise invalid_field("retry_schedule_s", f"each delay must be at least {shortest} s")

    def _apply_target(self, listener: Listener, target: dict[str, Any]) -> None:
        kafka: KafkaTarget | None = target["kafka"]
        listener.type = target["type"]
        listener.notify_url = target["notify_url"]
        listener.liveness_url = target["liveness_url"]
        listener.kafka_topic = kafka.topic if kafka else None
        listener.kafka_key = kafka.key if kafka else None
        listener.headers_sealed = self.secrets.seal_headers(dict(target["headers"]))

    @staticmethod
    def _set_enabled(listener: Listener, enabled: bool) -> None:
        if enabled:
            listener.status = "active"
            listener.disabled_reason = None
            listener.failing_since = None
        else:
            listener.status = "paused"

    async def page(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, page: PageRequest
    ) -> list[Listener]:
        await self._require_queue(org_id, queue_id)
        return await self.repository.page(queue_id, page.after, page.limit)

    async def delete(self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID) -> None:
        """Hides the listener and cancels its pending deliveries; nothing more is sent to it."""
        listener = await self.get(org_id, queue_id, listener_id)
        await self.repository.cancel_open_deliveries(listener.id)
        await self.repository.mark_deleted(listener, utcnow())

    async def secret(self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID) -> str:
        listener = await self.get(org_id, queue_id, listener_id)
        return self.secrets.open(listener.secret_encrypted)

    async def reveal_secret(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID, *, rotate: bool
    ) -> tuple[Listener, str]:
        """The listener and its signing secret, rotated first when `rotate` (the pages)."""
        reveal = self.rotate_secret if rotate else self.secret
        secret = await reveal(org_id, queue_id, listener_id)
        return await self.get(org_id, queue_id, listener_id), secret

    async def rotate_secret(
        self, org_id: uuid.UUID, queue_id: uuid.UUID, listener_id: uuid.UUID
    ) -> str:
        """A new secret; the old one keeps signing alongside it for the overlap period."""
        listener = await self.get(org_id, queue_id, listener_id)
        secret = new_signing_secret()
        listener.previous_secret_encrypted = listener.secret_encrypted
        listener.previous_secret_expires_at = utcnow() + timedelta(
            seconds=self.settings.secret_rotation_overlap_s
        )
        listener.secret_encrypted = self.secrets.seal(secret)
        await self.repository.flush()
        await self.repository.secret_rotated(listener.id)
        return secret
