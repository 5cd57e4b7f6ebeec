"""The webhook sink on reqwest (pyreqwest): the same requests, headers, deadline and
4 KiB reading as workers/sinks/http.py, through pinned clients (workers/egress_pinned.py)
instead of aiohttp's guarded connector. Chosen with HERALD_EGRESS_CLIENT=reqwest."""

from __future__ import annotations

import time
from datetime import timedelta

from pyreqwest.exceptions import ConnectError, PyreqwestError
from pyreqwest.response import ResponseBodyReader

from service.lib.metrics import SSRF_REFUSALS
from service.lib.ssrf import UnsafeTarget
from workers.claims import ClaimedDelivery
from workers.egress import BlockedDestination, Egress
from workers.egress_pinned import PinnedClients
from workers.listeners import ListenerConfig
from workers.policy import Outcome
from workers.sinks import SinkResult
from workers.sinks.deadlines import Deadlines
from workers.sinks.http import RESPONSE_BODY_BYTES, printable, refused, webhook_headers


async def _read_head(reader: ResponseBodyReader) -> tuple[bytes, bool]:
    """At most RESPONSE_BODY_BYTES of the body, and whether it ended within them."""
    head = b""
    while len(head) < RESPONSE_BODY_BYTES:
        chunk = await reader.read(RESPONSE_BODY_BYTES - len(head))
        if chunk is None:
            return head, True
        head += bytes(chunk)
    return head, False


class ReqwestSink:
    batches = False

    def __init__(self, egress: Egress, pinned: PinnedClients) -> None:
        self.egress = egress
        self.pinned = pinned
        self.deadlines = Deadlines()

    async def send_many(
        self, listener: ListenerConfig, deliveries: list[ClaimedDelivery]
    ) -> list[SinkResult]:
        return [await self.send(listener, delivery) for delivery in deliveries]

    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        started_at = time.time()
        started = time.perf_counter()
        target = listener.notify_target
        refusal = refused(self.egress, target, delivery)
        if refusal is not None:
            return SinkResult(refusal, started_at, 0, None)
        assert delivery.body is not None and not isinstance(target, UnsafeTarget)
        headers = webhook_headers(listener, delivery, delivery.body, started_at)
        response_body = None
        deadline = self.deadlines.within(listener.timeout_s)
        try:
            with deadline:
                client, url = await self.pinned.client_for(target)
                request = (
                    client.post(url)
                    .headers(headers)
                    .body_bytes(delivery.body)
                    .timeout(timedelta(seconds=listener.timeout_s + 1))  # ours ends first
                    .build_streamed()
                )
                async with request as response:
                    body, _ = await _read_head(response.body_reader)
                    outcome = Outcome(
                        status_code=response.status,
                        retry_after=response.headers.get("retry-after"),
                    )
                    response_body = printable(body)
        except BlockedDestination as exc:
            SSRF_REFUSALS.labels("connect").inc()
            outcome = Outcome(error=f"blocked: {exc}")
        except ConnectError as exc:
            outcome = Outcome(error=f"connection failed: {exc}")
        except OSError as exc:  # the name did not resolve
            outcome = Outcome(error=f"dns: could not resolve {target.host}: {exc}")
        except (PyreqwestError, ValueError) as exc:
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
        if deadline.expired:
            outcome = Outcome(error=f"timeout after {int(listener.timeout_s * 1000)} ms")
            response_body = None
        duration_ms = int((time.perf_counter() - started) * 1000)
        return SinkResult(outcome, started_at, duration_ms, response_body)

    async def close(self) -> None:
        await self.pinned.close()
