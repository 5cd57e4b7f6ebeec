"""`AsyncHerald`: one method per route of Herald's HTTP API, typed with the models
generated from its OpenAPI document. The sync `Herald` (`_sync/client.py`) is generated
from this file by unasync (see generate.py): edit this one."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
import msgspec

from herald_client import models
from herald_client._requests import (
    DEFAULT_TIMEOUT,
    INGEST_RETRIES,
    JSON,
    MAX_RETRY_WAIT_S,
    PAGE_SIZE,
    RETRY_WAIT_S,
    body_of,
    ndjson_chunks,
    ndjson_line,
    new_idempotency_key,
)
from herald_client.errors import HeraldError, RateLimited, Unavailable, error_for

T = TypeVar("T")


class AsyncHerald:
    """A client of one Herald deployment with one API key; reuse it (it keeps its
    connections), and close it when done (`async with AsyncHerald(...) as herald:`)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        ingest_retries: int = INGEST_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.ingest_retries = ingest_retries
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers={"X-API-KEY": api_key, "User-Agent": "herald-client"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncHerald:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- Queues ---------------------------------------------------------------------------

    async def list_queues(self) -> AsyncIterator[models.QueueView]:
        """Every queue of the organization, page after page."""
        async for queue in self._pages("/v1/queues", models.QueueList, "queues"):
            yield queue

    async def create_queue(self, name: str, **fields: Any) -> models.QueueView:
        """`fields`: retention_days, event_type_field, validate_schemas, operational_events."""
        body = body_of(models.QueueCreate, {"name": name, **fields})
        return (await self._call("POST", "/v1/queues", models.QueueResponse, json=body)).queue

    async def get_queue(self, queue_id: str) -> models.QueueView:
        return (await self._call("GET", f"/v1/queues/{queue_id}", models.QueueResponse)).queue

    async def update_queue(self, queue_id: str, **changes: Any) -> models.QueueView:
        body = body_of(models.QueueUpdate, changes)
        path = f"/v1/queues/{queue_id}"
        return (await self._call("PATCH", path, models.QueueResponse, json=body)).queue

    async def delete_queue(self, queue_id: str) -> None:
        await self._request("DELETE", f"/v1/queues/{queue_id}")

    # --- Event types ----------------------------------------------------------------------

    async def list_event_types(self, queue_id: str) -> list[models.EventTypeView]:
        path = f"/v1/queues/{queue_id}/event-types"
        return (await self._call("GET", path, models.EventTypeList)).event_types

    async def register_event_type(
        self,
        queue_id: str,
        name: str,
        *,
        description: str | None = None,
        schema: dict[str, Any] | None = None,
    ) -> models.EventTypeView:
        fields = {"description": description, "schema": schema}
        body = body_of(models.EventTypeRegistration, {k: v for k, v in fields.items() if v})
        path = f"/v1/queues/{queue_id}/event-types/{name}"
        return (await self._call("PUT", path, models.EventTypeResponse, json=body)).event_type

    async def delete_event_type(self, queue_id: str, name: str) -> None:
        await self._request("DELETE", f"/v1/queues/{queue_id}/event-types/{name}")

    # --- Listeners ------------------------------------------------------------------------

    async def list_listeners(self, queue_id: str) -> AsyncIterator[models.ListenerView]:
        path = f"/v1/queues/{queue_id}/listeners"
        async for listener in self._pages(path, models.ListenerList, "listeners"):
            yield listener

    async def create_listener(self, queue_id: str, name: str, **fields: Any) -> models.ListenerView:
        """`fields` as the API takes them: notify_url, liveness_url, headers, filter_types,
        filter, max_attempts, retry_schedule_s, ordered, rate_limit_per_s, enabled, kafka..."""
        body = body_of(models.ListenerCreate, {"name": name, **fields})
        path = f"/v1/queues/{queue_id}/listeners"
        return (await self._call("POST", path, models.ListenerResponse, json=body)).listener

    async def get_listener(self, queue_id: str, listener_id: str) -> models.ListenerView:
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}"
        return (await self._call("GET", path, models.ListenerResponse)).listener

    async def update_listener(
        self, queue_id: str, listener_id: str, **changes: Any
    ) -> models.ListenerView:
        """Only the fields given change; None clears an optional one."""
        body = body_of(models.ListenerUpdate, changes)
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}"
        return (await self._call("PATCH", path, models.ListenerResponse, json=body)).listener

    async def delete_listener(self, queue_id: str, listener_id: str) -> None:
        await self._request("DELETE", f"/v1/queues/{queue_id}/listeners/{listener_id}")

    async def get_secret(self, queue_id: str, listener_id: str) -> str:
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/secret"
        return (await self._call("GET", path, models.SigningSecret)).secret

    async def rotate_secret(self, queue_id: str, listener_id: str) -> str:
        """The new secret; the old one keeps signing alongside it for 24 hours."""
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/secret/rotate"
        return (await self._call("POST", path, models.SigningSecret)).secret

    async def test_filter(
        self, queue_id: str, listener_id: str, payload: Any, event_type: str | None = None
    ) -> bool:
        """Whether the listener would get a message with this JSON payload (and type)."""
        fields = {"payload": payload, "event_type": event_type}
        body = body_of(models.FilterTest, {k: v for k, v in fields.items() if v is not None})
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/filter/test"
        return (await self._call("POST", path, models.FilterVerdict, json=body)).matches

    # --- Sending messages -----------------------------------------------------------------

    async def send(
        self,
        queue_id: str,
        body: bytes | str,
        *,
        content_type: str = JSON,
        event_type: str | None = None,
        wait: bool = False,
        gzip_body: bool = False,
        idempotency_key: str | None = None,
    ) -> models.IngestResult | models.IngestAccepted:
        """One message, stored and delivered byte for byte. `wait`: answered once
        committed, with the message's id (IngestResult); otherwise IngestAccepted."""
        raw = body.encode() if isinstance(body, str) else body
        return await self._ingest(
            queue_id, raw, content_type, event_type, wait, gzip_body, idempotency_key, {}
        )

    async def send_json(
        self,
        queue_id: str,
        value: Any,
        *,
        event_type: str | None = None,
        wait: bool = False,
        idempotency_key: str | None = None,
    ) -> models.IngestResult | models.IngestAccepted:
        """One message: `value` encoded as JSON."""
        raw = msgspec.json.encode(value)
        return await self._ingest(queue_id, raw, JSON, event_type, wait, False, idempotency_key, {})

    async def send_many(
        self,
        queue_id: str,
        items: Iterable[Any],
        *,
        event_type: str | None = None,
        wait: bool = False,
        gzip_body: bool = False,
        idempotency_key: str | None = None,
    ) -> models.IngestResult | models.IngestAccepted:
        """One message per item, sent as NDJSON in one request (at most 10,000 items):
        bytes and str items are sent as they are (one JSON document each), anything else
        encoded as JSON. Each item is accepted or rejected alone."""
        raw = b"\n".join(ndjson_line(item) for item in items) + b"\n"
        return await self._ingest(
            queue_id,
            raw,
            "application/x-ndjson",
            event_type,
            wait,
            gzip_body,
            idempotency_key,
            {},
        )

    async def send_all(
        self,
        queue_id: str,
        items: Iterable[Any],
        *,
        event_type: str | None = None,
        wait: bool = False,
        gzip_body: bool = False,
    ) -> list[models.IngestResult | models.IngestAccepted]:
        """Any number of items (an iterable, read as it goes), as NDJSON requests within
        Herald's limits (10,000 items, 4 MiB each), one after the other, each with its own
        Idempotency-Key; one result per request."""
        results = []
        for chunk in ndjson_chunks(items):
            results.append(
                await self._ingest(
                    queue_id, chunk, "application/x-ndjson", event_type, wait, gzip_body, None, {}
                )
            )
        return results

    async def _ingest(
        self,
        queue_id: str,
        raw: bytes,
        content_type: str,
        event_type: str | None,
        wait: bool,
        gzip_body: bool,
        idempotency_key: str | None,
        params: dict[str, str],
    ) -> models.IngestResult | models.IngestAccepted:
        """Sends with one Idempotency-Key for every try, so a retry after a lost answer
        stores nothing twice; retries 429 and 503 after their Retry-After."""
        headers = {
            "Content-Type": content_type,
            "Idempotency-Key": idempotency_key or new_idempotency_key(),
        }
        if event_type is not None:
            headers["Herald-Event-Type"] = event_type
        if wait:
            headers["Sync"] = "1"
        if gzip_body:
            raw = gzip.compress(raw)
            headers["Content-Encoding"] = "gzip"
        response = await self._retrying(
            "POST", f"/v1/queues/{queue_id}/messages", content=raw, headers=headers, params=params
        )
        if response.status_code == 200:
            return msgspec.json.decode(response.content, type=models.IngestResult)
        return msgspec.json.decode(response.content, type=models.IngestAccepted)

    async def _retrying(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.ingest_retries + 1):
            last = attempt == self.ingest_retries
            try:
                return await self._request(method, path, **kwargs)
            except (RateLimited, Unavailable) as exc:
                if last:
                    raise
                wait = exc.retry_after_s
            except httpx.TransportError:
                if last:
                    raise
                wait = None
            default = RETRY_WAIT_S[min(attempt, len(RETRY_WAIT_S) - 1)]
            await asyncio.sleep(min(MAX_RETRY_WAIT_S, default if wait is None else wait))
        raise AssertionError("unreachable")

    # --- Messages, deliveries, attempts ---------------------------------------------------

    async def list_messages(self, queue_id: str) -> AsyncIterator[models.MessageView]:
        """The queue's messages, newest first."""
        path = f"/v1/queues/{queue_id}/messages"
        async for message in self._pages(path, models.MessageList, "messages"):
            yield message

    async def get_message(self, queue_id: str, message_id: str) -> models.MessageDetail:
        """The message with its deliveries."""
        path = f"/v1/queues/{queue_id}/messages/{message_id}"
        return await self._call("GET", path, models.MessageDetail)

    async def get_payload(self, queue_id: str, message_id: str) -> bytes:
        """The message's body, byte for byte."""
        path = f"/v1/queues/{queue_id}/messages/{message_id}/payload"
        return (await self._request("GET", path)).content

    async def list_deliveries(
        self, queue_id: str, listener_id: str, status: str | None = None
    ) -> AsyncIterator[models.DeliveryView]:
        """The listener's deliveries, oldest first (only `status` when given)."""
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries"
        params = {"status": status} if status else {}
        async for delivery in self._pages(path, models.DeliveryList, "deliveries", params):
            yield delivery

    async def list_attempts(
        self, queue_id: str, listener_id: str, delivery_id: str
    ) -> list[models.AttemptView]:
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries/{delivery_id}/attempts"
        return (await self._call("GET", path, models.AttemptList)).attempts

    async def retry(self, queue_id: str, listener_id: str, delivery_id: str) -> None:
        """Sends a finished delivery again, with a fresh schedule."""
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/deliveries/{delivery_id}/retry"
        await self._request("POST", path)

    async def replay(
        self,
        queue_id: str,
        listener_id: str,
        since: datetime,
        until: datetime | None = None,
        status: str = "failed",
    ) -> models.ReplayAccepted:
        """Sends again what the listener did not get (`status="failed"`) or everything
        (`"all"`) among the messages received in [since, until)."""
        fields = {"since": since, "until": until, "status": status}
        body = body_of(models.ReplayRequest, {k: v for k, v in fields.items() if v is not None})
        path = f"/v1/queues/{queue_id}/listeners/{listener_id}/replay"
        return await self._call("POST", path, models.ReplayAccepted, json=body)

    # --- Batches --------------------------------------------------------------------------

    async def get_batch(self, batch_id: str) -> models.BatchView:
        return (await self._call("GET", f"/v1/batches/{batch_id}", models.BatchResponse)).batch

    async def batch_messages(self, batch_id: str) -> AsyncIterator[dict[str, Any]]:
        """The batch's accepted messages, one dict per line of its download."""
        async for line in self._ndjson_download(f"/v1/batches/{batch_id}/messages"):
            yield line

    async def batch_failures(self, batch_id: str) -> AsyncIterator[dict[str, Any]]:
        """The batch's rejected items, with why each was refused."""
        async for line in self._ndjson_download(f"/v1/batches/{batch_id}/failures"):
            yield line

    async def _ndjson_download(self, path: str) -> AsyncIterator[dict[str, Any]]:
        # httpx would not undo the gzip: it is the file's, not a Content-Encoding.
        content = (await self._request("GET", path)).content
        for line in gzip.decompress(content).splitlines():
            if line:
                yield msgspec.json.decode(line)

    # --- Inlets ---------------------------------------------------------------------------

    async def list_inlets(self, queue_id: str) -> AsyncIterator[models.InletView]:
        path = f"/v1/queues/{queue_id}/inlets"
        async for inlet in self._pages(path, models.InletList, "inlets"):
            yield inlet

    async def create_inlet(self, queue_id: str, name: str) -> models.InletView:
        """The new inlet, with its `url` (holding its token): shown only now."""
        body = body_of(models.InletCreate, {"name": name})
        path = f"/v1/queues/{queue_id}/inlets"
        return (await self._call("POST", path, models.InletResponse, json=body)).inlet

    async def get_inlet(self, queue_id: str, inlet_id: str) -> models.InletView:
        path = f"/v1/queues/{queue_id}/inlets/{inlet_id}"
        return (await self._call("GET", path, models.InletResponse)).inlet

    async def delete_inlet(self, queue_id: str, inlet_id: str) -> None:
        await self._request("DELETE", f"/v1/queues/{queue_id}/inlets/{inlet_id}")

    async def send_to_inlet(
        self, url_or_token: str, body: bytes | str, *, content_type: str = JSON
    ) -> models.IngestAccepted:
        """What a third party does with an inlet's URL (no API key is sent)."""
        token = url_or_token.rstrip("/").rsplit("/", 1)[-1]
        raw = body.encode() if isinstance(body, str) else body
        request = self._http.build_request(
            "POST", f"/v1/inlets/{token}", content=raw, headers={"Content-Type": content_type}
        )
        del request.headers["X-API-KEY"]  # an inlet's caller holds no key of ours
        response = await self._http.send(request)
        if response.status_code >= 400:
            raise error_for(response)
        return msgspec.json.decode(response.content, type=models.IngestAccepted)

    # --- API keys, portal sessions, health ------------------------------------------------

    async def list_api_keys(self) -> AsyncIterator[models.ApiKeyRead]:
        async for key in self._pages("/v1/api-keys", models.ApiKeyList, "api_keys"):
            yield key

    async def create_api_key(self, name: str, scopes: list[str]) -> models.ApiKeyRead:
        """The new key, with its secret `key`: shown only now."""
        body = body_of(models.ApiKeyCreate, {"name": name, "scopes": scopes})
        return (await self._call("POST", "/v1/api-keys", models.ApiKeyResponse, json=body)).api_key

    async def revoke_api_key(self, key_id: str) -> None:
        await self._request("DELETE", f"/v1/api-keys/{key_id}")

    async def create_portal_session(self, queue_id: str, **fields: Any) -> models.PortalSessionView:
        """`fields`: listener_ids, capabilities, expires_in_s, branding."""
        body = body_of(models.PortalSessionCreate, {"queue_id": queue_id, **fields})
        response = await self._call(
            "POST", "/v1/portal-sessions", models.PortalSessionResponse, json=body
        )
        return response.portal_session

    async def end_portal_session(self, session_id: str) -> None:
        await self._request("DELETE", f"/v1/portal-sessions/{session_id}")

    async def live(self) -> models.Live:
        """Whether the API process answers at all."""
        return await self._call("GET", "/health/live", models.Live)

    async def ready(self) -> models.Ready:
        """Whether the deployment can serve (its database and Redis answer)."""
        return await self._call("GET", "/health/ready", models.Ready)

    async def metrics(self) -> str:
        """The Prometheus metrics text of the whole deployment."""
        return (await self._request("GET", "/metrics")).text

    # --- Transport ------------------------------------------------------------------------

    async def _call(self, method: str, path: str, kind: type[T], *, json: Any = None) -> T:
        content = None if json is None else msgspec.json.encode(json)
        headers = None if json is None else {"Content-Type": JSON}
        response = await self._request(method, path, content=content, headers=headers)
        return msgspec.json.decode(response.content, type=kind)

    async def _pages(
        self, path: str, kind: type[Any], field: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[Any]:
        url: str | None = path
        query: dict[str, Any] | None = {**(params or {}), "limit": PAGE_SIZE}
        while url is not None:
            page = msgspec.json.decode(
                (await self._request("GET", url, params=query)).content, type=kind
            )
            for item in getattr(page, field):
                yield item
            link = page.field_links.next
            url, query = (link.href, None) if isinstance(link, models.Link) else (None, None)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_for(response)
        return response


__all__ = ["AsyncHerald", "HeraldError"]
