"""The webhook sink on reqwest (pyreqwest), the default: the same requests, headers,
deadline and 4 KiB reading as workers/sinks/http.py (aiohttp, HERALD_EGRESS_CLIENT=aiohttp),
through pinned clients (workers/egress_pinned.py) instead of aiohttp's guarded connector."""

from __future__ import annotations

from datetime import timedelta

from pyreqwest.exceptions import ConnectError, PyreqwestError
from pyreqwest.http import HeaderMap
from pyreqwest.response import ResponseBodyReader

from service.lib.metrics import SSRF_REFUSALS
from workers.claims import ClaimedDelivery
from workers.egress import BlockedDestination, Egress
from workers.egress_pinned import PinnedClients
from workers.listeners import ListenerConfig
from workers.policy import Outcome
from workers.sinks import SinkResult
from workers.sinks.deadlines import Deadlines
from workers.sinks.http import RESPONSE_BODY_BYTES, WebhookAttempt, printable


async def _read_head(reader: ResponseBodyReader) -> tuple[bytes, bool]:
    """At most RESPONSE_BODY_BYTES of the body, and whether it ended within them."""
    head = b""
    while len(head) < RESPONSE_BODY_BYTES:
        chunk = await reader.read(RESPONSE_BODY_BYTES - len(head))
        if chunk is None:
            return head, True
        head += bytes(chunk)
    return head, False


def _retry_after(headers: HeaderMap) -> str | None:
    """The Retry-After header; None when absent or not text (reqwest refuses to decode a
    value with bytes outside visible ASCII, and no valid Retry-After has any)."""
    try:
        return headers.get("retry-after")
    except ValueError:
        return None


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
        attempt = WebhookAttempt.begin(self.egress, self.deadlines, listener, delivery)
        if isinstance(attempt, SinkResult):
            return attempt
        outcome, response_body = None, None  # set by the request, unless the deadline ends it
        try:
            with attempt.deadline:
                client, url = await self.pinned.client_for(attempt.target)
                request = (
                    client.post(url)
                    .headers(attempt.headers)
                    .body_bytes(attempt.body)
                    .timeout(timedelta(seconds=listener.timeout_s + 1))  # ours ends first
                    .build_streamed()
                )
                async with request as response:
                    body, _ = await _read_head(response.body_reader)
                    outcome = Outcome(
                        status_code=response.status,
                        retry_after=_retry_after(response.headers),
                    )
                    response_body = printable(body)
        except BlockedDestination as exc:
            SSRF_REFUSALS.labels("connect").inc()
            outcome = Outcome(error=f"blocked: {exc}")
        except ConnectError as exc:
            outcome = Outcome(error=f"connection failed: {exc}")
        except OSError as exc:  # the name did not resolve
            outcome = Outcome(error=f"dns: could not resolve {attempt.target.host}: {exc}")
        except (PyreqwestError, ValueError) as exc:
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
        return attempt.result(listener, outcome, response_body)

    async def close(self) -> None:
        await self.pinned.close()
