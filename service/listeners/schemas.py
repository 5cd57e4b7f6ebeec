"""Listener request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from service.lib.pagination import LINKS, PageLinks, SelfLinks

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
TimeoutMs = Annotated[int, msgspec.Meta(ge=100, le=300_000)]
MaxAttempts = Annotated[int, msgspec.Meta(ge=1, le=100)]
Delay = Annotated[float, msgspec.Meta(gt=0, le=7 * 24 * 3600)]
RetrySchedule = Annotated[list[Delay], msgspec.Meta(min_length=1, max_length=100)]
MaxInFlight = Annotated[int, msgspec.Meta(ge=1, le=1000)]
RatePerS = Annotated[float, msgspec.Meta(ge=0.01, le=100_000)]
Headers = Annotated[dict[str, str], msgspec.Meta(max_length=50)]
TypePattern = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:*-]{1,128}$")]
FilterTypes = Annotated[list[TypePattern], msgspec.Meta(min_length=1, max_length=100)]
# Conditions on the JSON body (service/routing/filters.py), checked by the service.
BodyFilter = dict[str, Any]


class KafkaTarget(msgspec.Struct, forbid_unknown_fields=True):
    topic: Annotated[str, msgspec.Meta(min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")]
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class ListenerCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    notify_url: Url | None = None
    liveness_url: Url | None = None
    type: Literal["webhook", "kafka"] = "webhook"
    kafka: KafkaTarget | None = None
    headers: Headers = msgspec.field(default_factory=dict)
    timeout_ms: TimeoutMs | None = None
    max_attempts: MaxAttempts | None = None
    retry_schedule_s: RetrySchedule | None = None
    ordered: bool = False
    max_in_flight: MaxInFlight | None = None
    rate_limit_per_s: RatePerS | None = None
    enabled: bool = True
    filter_types: FilterTypes | None = None
    filter: BodyFilter | None = None


class ListenerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    notify_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    liveness_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    type: Literal["webhook", "kafka"] | msgspec.UnsetType = msgspec.UNSET
    kafka: KafkaTarget | msgspec.UnsetType | None = msgspec.UNSET
    headers: Headers | msgspec.UnsetType = msgspec.UNSET
    timeout_ms: TimeoutMs | msgspec.UnsetType = msgspec.UNSET
    max_attempts: MaxAttempts | msgspec.UnsetType = msgspec.UNSET
    retry_schedule_s: RetrySchedule | msgspec.UnsetType | None = msgspec.UNSET
    ordered: bool | msgspec.UnsetType = msgspec.UNSET
    max_in_flight: MaxInFlight | msgspec.UnsetType = msgspec.UNSET
    rate_limit_per_s: RatePerS | msgspec.UnsetType | None = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    filter_types: FilterTypes | msgspec.UnsetType | None = msgspec.UNSET
    filter: BodyFilter | msgspec.UnsetType | None = msgspec.UNSET


class ListenerHealth(msgspec.Struct):
    state: Literal["live", "unreachable", "unknown"]
    checked_at: datetime | None
    consecutive_failures: int


class ListenerView(msgspec.Struct):
    """A listener as the API shows it (never its secret)."""

    id: uuid.UUID
    name: str
    queue_id: uuid.UUID
    type: str
    notify_url: str | None
    liveness_url: str | None
    kafka: KafkaTarget | None
    headers: dict[str, str]
    timeout_ms: int
    max_attempts: int
    retry_schedule_s: list[float]
    ordered: bool
    max_in_flight: int
    rate_limit_per_s: float | None
    enabled: bool
    filter_types: list[str] | None
    filter: dict[str, Any] | None
    status: Literal["active", "paused", "disabled"]
    disabled_reason: str | None
    health: ListenerHealth
    created_at: datetime
    updated_at: datetime


class ListenerResponse(msgspec.Struct):
    listener: ListenerView
    links: SelfLinks = msgspec.field(name=LINKS)


class ListenerList(msgspec.Struct):
    listeners: list[ListenerView]
    links: PageLinks = msgspec.field(name=LINKS)


class SigningSecret(msgspec.Struct):
    secret: str


class FilterTest(msgspec.Struct, forbid_unknown_fields=True):
    payload: Any
    event_type: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] | None = None


class FilterVerdict(msgspec.Struct):
    matches: bool
