"""A worker's own metrics port: this process's counters in Prometheus text.

Served from a thread by prometheus_client, so a scrape still answers while the event loop
is busy. A port that is taken is logged and skipped: delivering matters more than metrics.
"""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from service.lib.metrics import REGISTRY

logger = logging.getLogger("herald.metrics")


def serve_metrics(host: str, port: int) -> WSGIServer | None:
    if not port:
        return None
    try:
        server, _ = start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        logger.error("worker metrics not served on %s:%s: %s", host, port, exc)
        return None
    logger.info("worker metrics on http://%s:%s/metrics", host, port)
    return server
