"""`GET /metrics`: Prometheus text for the whole deployment (see service/lib/metrics.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from litestar import Controller, Response, get
from litestar.datastructures import State
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric

from service.lib.metrics import shared_metrics
from service.metrics.gauges import listener_gauges


class _Families:
    """What generate_latest needs from a registry: the families to write."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


class MetricsController(Controller):
    path = "/metrics"
    tags = ["health"]

    @get(
        "/",
        summary="Prometheus metrics: ingest, delivery outcomes and latency, listener backlog",
        media_type=CONTENT_TYPE_LATEST,
    )
    async def metrics(self, state: State) -> Response[bytes]:
        with contextlib.suppress(Exception):  # this process's latest counts, if Redis takes them
            await state.metrics.flush()
        families = await shared_metrics(state.redis) + await listener_gauges(state.pg_pool)
        return Response(generate_latest(_Families(families)), media_type=CONTENT_TYPE_LATEST)
