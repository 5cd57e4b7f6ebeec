"""The webhook sink: a signed POST with aiohttp, one shared session, one deadline per attempt."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from service.lib.metrics import SSRF_REFUSALS
from service.lib.signing import signature_header_for_keys
from workers.claims import ClaimedDelivery
from workers.listeners import ListenerConfig
from workers.policy import Outcome
from workers.sinks import SinkResult
from workers.sinks.guard import BlockedDestination, GuardedResolver, literal_block_reason

RESPONSE_BODY_BYTES = 4096


def webhook_headers(
    listener: ListenerConfig, delivery: ClaimedDelivery, body: bytes, now: float
) -> dict[str, str]:
    """Inlet headers, then the listener's own, then Herald's (which nothing overrides)."""
    timestamp = int(now)
    webhook_id = message_id = str(delivery.message_id)  # a delivery is named by its message
    if delivery.original_headers:
        headers = {f"herald-original-{k}": v for k, v in delivery.original_headers.items()}
        headers.update(listener.fixed_headers)
    else:
        headers = listener.fixed_headers.copy()
    headers["content-type"] = delivery.content_type
    headers["webhook-id"] = webhook_id
    headers["webhook-timestamp"] = str(timestamp)
    headers["webhook-signature"] = signature_header_for_keys(
        listener.signing_keys, webhook_id, timestamp, body
    )
    headers["herald-message-id"] = message_id
    headers["herald-attempt"] = str(delivery.attempt)
    return headers


def printable(body: bytes) -> str:
    """Text Postgres can store: invalid UTF-8 and NUL (which text columns refuse) replaced."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def _read_head(stream: aiohttp.StreamReader) -> bytes:
    head = b""
    while len(head) < RESPONSE_BODY_BYTES:
        chunk = await stream.read(RESPONSE_BODY_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


class HttpSink:
    """Sends webhooks. Redirects are never followed and proxy variables are ignored."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        resolver = None if allow_private else GuardedResolver()
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=10, resolver=resolver)
        self.session = aiohttp.ClientSession(
            connector=connector,
            # No aiohttp timers (its default is a 5-minute total per request, one more timer
            # per attempt): each attempt runs under its own asyncio.timeout instead.
            timeout=aiohttp.ClientTimeout(),
            trust_env=False,
            auto_decompress=False,
        )

    batches = False  # each webhook is its own request, with its own deadline

    async def send_many(
        self, listener: ListenerConfig, deliveries: list[ClaimedDelivery]
    ) -> list[SinkResult]:
        return [await self.send(listener, delivery) for delivery in deliveries]

    async def send(self, listener: ListenerConfig, delivery: ClaimedDelivery) -> SinkResult:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        outcome, response_body = await self._attempt(listener, delivery)
        duration_ms = int((time.perf_counter() - started) * 1000)
        return SinkResult(outcome, started_at, duration_ms, response_body)

    async def _attempt(
        self, listener: ListenerConfig, delivery: ClaimedDelivery
    ) -> tuple[Outcome, str | None]:
        url = listener.notify_url or ""
        if delivery.body is None:
            return Outcome(error="payload no longer retained", permanent=True), None
        if not self.allow_private:
            reason = literal_block_reason(urlsplit(url).hostname or "")
            if reason:
                SSRF_REFUSALS.labels("connect").inc()
                return Outcome(error=f"blocked: {reason}"), None
        headers = webhook_headers(listener, delivery, delivery.body, time.time())
        try:
            # One deadline for connect, send and read: socket timeouts alone let a receiver
            # that drips its answer hold the attempt for ever.
            async with asyncio.timeout(listener.timeout_s):
                async with self.session.post(
                    url, data=delivery.body, headers=headers, allow_redirects=False
                ) as response:
                    body = await _read_head(response.content)
                    if not response.content.at_eof():
                        response.close()  # do not read (or keep) an endless body
                    return (
                        Outcome(
                            status_code=response.status,
                            retry_after=response.headers.get("retry-after"),
                        ),
                        printable(body),
                    )
        except TimeoutError:
            return Outcome(error=f"timeout after {int(listener.timeout_s * 1000)} ms"), None
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, BlockedDestination):
                SSRF_REFUSALS.labels("connect").inc()
                return Outcome(error=f"blocked: {exc.os_error}"), None
            return Outcome(error=f"dns: could not resolve {exc.host}"), None
        except aiohttp.ClientConnectorError as exc:
            return Outcome(error=f"connection failed: {exc.os_error}"), None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Outcome(error=f"{type(exc).__name__}: {exc}"), None

    async def close(self) -> None:
        await self.session.close()
