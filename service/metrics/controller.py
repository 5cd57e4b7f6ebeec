"""`GET /metrics`: Prometheus text for the whole deployment (see service/lib/metrics.py)."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Iterable
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from pydantic import SecretStr

from service.errors import Unauthorized
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
    async def metrics(self, request: Request[Any, Any, State], state: State) -> Response[bytes]:
        _check_token(state.settings.metrics_token, request.headers.get("authorization"))
        with contextlib.suppress(Exception):  # this process's latest counts, if Redis takes them
            await state.metrics.flush()
        families = await shared_metrics(state.redis) + await listener_gauges(state.export_pool)
        return Response(generate_latest(_Families(families)), media_type=CONTENT_TYPE_LATEST)


def _check_token(token: SecretStr | None, authorization: str | None) -> None:
    """401 unless HERALD_METRICS_TOKEN is unset or the request carries it as a bearer."""
    if token is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise Unauthorized("GET /metrics needs Authorization: Bearer <HERALD_METRICS_TOKEN>")
