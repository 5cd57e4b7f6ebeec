"""Herald's Prometheus metrics, counted in each process and added up across processes.

Every process (API or worker) counts into its own registry. A `MetricsPublisher` adds what
was counted since its last flush to one Redis hash every second, so the API's `/metrics`
shows totals for the whole deployment whichever process answers the scrape; a worker's
own port shows that worker alone. Gauges read from Postgres are added by the API at
scrape time (see service/metrics/gauges.py).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric
from redis.asyncio import Redis

from service.lib.periodic_flush import PeriodicFlush

SHARED_KEY = "herald:metrics"
FLUSH_INTERVAL_S = 1.0

REGISTRY = CollectorRegistry()

INGESTED_MESSAGES = Counter(
    "herald_ingested_messages", "Messages accepted and committed.", registry=REGISTRY
)
INGESTED_BYTES = Counter(
    "herald_ingested_bytes", "Payload bytes of the accepted messages.", registry=REGISTRY
)
REJECTED_MESSAGES = Counter(
    "herald_rejected_messages",
    "Items of ingest requests that were refused (recorded as batch failures).",
    registry=REGISTRY,
)
DELIVERY_ATTEMPTS = Counter(
    "herald_delivery_attempts",
    "Delivery attempts by listener type and outcome (delivered, retry, failed, gone, rejected).",
    ["type", "outcome"],
    registry=REGISTRY,
)
ATTEMPT_SECONDS = Histogram(
    "herald_attempt_duration_seconds",
    "Time from sending an attempt to its response (or error).",
    ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
SSRF_REFUSALS = Counter(
    "herald_ssrf_refusals",
    "Destinations refused by the SSRF guard, at registration or at connect time.",
    ["stage"],
    registry=REGISTRY,
)
LIVENESS_PROBES = Counter(
    "herald_liveness_probes",
    "Liveness probes by result (ok, failed).",
    ["result"],
    registry=REGISTRY,
)


@functools.cache
def _attempt_series(listener_type: str, outcome: str) -> tuple[Any, Any]:
    return DELIVERY_ATTEMPTS.labels(listener_type, outcome), ATTEMPT_SECONDS.labels(listener_type)


def count_attempt(listener_type: str, outcome: str, seconds: float) -> None:
    """One attempt's outcome and duration (label lookups cached: this runs per delivery)."""
    attempts, duration = _attempt_series(listener_type, outcome)
    attempts.inc()
    duration.observe(seconds)


def _samples(registry: CollectorRegistry) -> Iterable[tuple[str, float]]:
    """(field, value) for every counter-like sample; fields name the family and labels."""
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = sorted(sample.labels.items())
            yield json.dumps([family.name, sample.name, labels]), sample.value


class MetricsPublisher(PeriodicFlush):
    """Adds this process's increments to the shared Redis hash, every second and on close.
    Increments Redis refused are kept and go out with the next flush."""

    every_s = FLUSH_INTERVAL_S
    what = "metrics"

    # What this process has handed to Redis, per registry: shared by every publisher in the
    # process (tests run the API and a worker in one), so nothing is published twice.
    _published: dict[int, dict[str, float]] = defaultdict(dict)

    def __init__(self, redis: Redis, registry: CollectorRegistry = REGISTRY) -> None:
        self.redis = redis
        self.registry = registry

    async def flush(self) -> None:
        # Deltas are taken and booked in one step (no await between), then given back if
        # Redis refuses them, so they go out with the next flush.
        published = self._published[id(self.registry)]
        deltas = {}
        for field, value in _samples(self.registry):
            delta = value - published.get(field, 0.0)
            if delta:
                deltas[field] = delta
                published[field] = value
        if not deltas:
            return
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for field, delta in deltas.items():
                    pipe.hincrbyfloat(SHARED_KEY, field, delta)
                await pipe.execute()
        except BaseException:
            for field, delta in deltas.items():
                published[field] -= delta
            raise


async def shared_metrics(redis: Redis, registry: CollectorRegistry = REGISTRY) -> list[Metric]:
    """The deployment-wide totals, as families shaped like this process's own."""
    stored: dict[bytes, bytes] = await redis.hgetall(SHARED_KEY)  # type: ignore[misc]
    values: dict[str, list[tuple[str, dict[str, str], float]]] = defaultdict(list)
    for raw_field, raw_value in stored.items():
        family_name, sample_name, labels = json.loads(raw_field)
        values[family_name].append((sample_name, dict(labels), float(raw_value)))
    families = []
    for family in registry.collect():
        shared = Metric(family.name, family.documentation, family.type)
        for sample_name, labels, value in sorted(values.get(family.name, []), key=_sample_order):
            shared.add_sample(sample_name, labels, value)
        families.append(shared)
    return families


def _sample_order(sample: tuple[str, dict[str, str], float]) -> tuple[object, ...]:
    """Series together, histogram buckets by their bound (exposition order)."""
    name, labels, _ = sample
    series = sorted((k, v) for k, v in labels.items() if k != "le")
    return series, name, float(labels.get("le", 0))
