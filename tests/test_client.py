"""herald-client against a real Herald (API and worker processes on the embedded servers):
every route through the sync and async clients, typed errors, ingest retried without
duplicates, the generated code in step with the live OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import filecmp
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from herald_client import AsyncHerald, Herald, InvalidInput, NotFound, Unavailable, models

from service.embedded.process import free_port
from tests.receiver import Receiver, wait_for
from tests.stack import Stack

ROOT = Path(__file__).parent.parent
CLIENT = ROOT / "clients" / "python"


async def in_thread(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The sync client blocks: run it off the event loop that serves the test's receiver."""
    return await asyncio.to_thread(call, *args, **kwargs)


async def test_the_generated_code_matches_the_live_openapi_document(stack: Stack) -> None:
    import sys

    sys.path.insert(0, str(CLIENT))
    try:
        import generate
    finally:
        sys.path.remove(str(CLIENT))
    async with httpx.AsyncClient(base_url=stack.url) as client:
        document = (await client.get("/schema/openapi.json")).json()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        await asyncio.to_thread(generate.generate, document, out)
        package = CLIENT / "src" / "herald_client"
        for name in ("models.py", "_sync/client.py"):
            assert filecmp.cmp(out / name, package / name, shallow=False), (
                f"{name} is not what generate.py makes from the live document: run make client"
            )


async def test_every_route_has_a_client_method(stack: Stack) -> None:
    routes = {
        ("GET", "/v1/queues"): "list_queues",
        ("POST", "/v1/queues"): "create_queue",
        ("GET", "/v1/queues/{queue_id}"): "get_queue",
        ("PATCH", "/v1/queues/{queue_id}"): "update_queue",
        ("DELETE", "/v1/queues/{queue_id}"): "delete_queue",
        ("GET", "/v1/queues/{queue_id}/event-types"): "list_event_types",
        ("PUT", "/v1/queues/{queue_id}/event-types/{name}"): "register_event_type",
        ("DELETE", "/v1/queues/{queue_id}/event-types/{name}"): "delete_event_type",
        ("GET", "/v1/queues/{queue_id}/listeners"): "list_listeners",
        ("POST", "/v1/queues/{queue_id}/listeners"): "create_listener",
        ("GET", "/v1/queues/{queue_id}/listeners/{listener_id}"): "get_listener",
        ("PATCH", "/v1/queues/{queue_id}/listeners/{listener_id}"): "update_listener",
        ("DELETE", "/v1/queues/{queue_id}/listeners/{listener_id}"): "delete_listener",
        ("GET", "/v1/queues/{queue_id}/listeners/{listener_id}/secret"): "get_secret",
        ("POST", "/v1/queues/{queue_id}/listeners/{listener_id}/secret/rotate"): "rotate_secret",
        ("POST", "/v1/queues/{queue_id}/listeners/{listener_id}/filter/test"): "test_filter",
        ("GET", "/v1/queues/{queue_id}/messages"): "list_messages",
        ("POST", "/v1/queues/{queue_id}/messages"): "send",
        ("GET", "/v1/queues/{queue_id}/messages/{message_id}"): "get_message",
        ("GET", "/v1/queues/{queue_id}/messages/{message_id}/payload"): "get_payload",
        ("GET", "/v1/queues/{queue_id}/listeners/{listener_id}/deliveries"): "list_deliveries",
        (
            "GET",
            "/v1/queues/{queue_id}/listeners/{listener_id}/deliveries/{delivery_id}/attempts",
        ): "list_attempts",
        (
            "POST",
            "/v1/queues/{queue_id}/listeners/{listener_id}/deliveries/{delivery_id}/retry",
        ): "retry",
        ("POST", "/v1/queues/{queue_id}/listeners/{listener_id}/replay"): "replay",
        ("GET", "/v1/batches/{batch_id}"): "get_batch",
        ("GET", "/v1/batches/{batch_id}/messages"): "batch_messages",
        ("GET", "/v1/batches/{batch_id}/failures"): "batch_failures",
        ("GET", "/v1/queues/{queue_id}/inlets"): "list_inlets",
        ("POST", "/v1/queues/{queue_id}/inlets"): "create_inlet",
        ("GET", "/v1/queues/{queue_id}/inlets/{inlet_id}"): "get_inlet",
        ("DELETE", "/v1/queues/{queue_id}/inlets/{inlet_id}"): "delete_inlet",
        ("POST", "/v1/inlets/{token}"): "send_to_inlet",
        ("GET", "/v1/api-keys"): "list_api_keys",
        ("POST", "/v1/api-keys"): "create_api_key",
        ("DELETE", "/v1/api-keys/{key_id}"): "revoke_api_key",
        ("POST", "/v1/portal-sessions"): "create_portal_session",
        ("DELETE", "/v1/portal-sessions/{session_id}"): "end_portal_session",
        ("GET", "/health/live"): "live",
        ("GET", "/health/ready"): "ready",
        ("GET", "/metrics"): "metrics",
    }
    async with httpx.AsyncClient(base_url=stack.url) as client:
        document = (await client.get("/schema/openapi.json")).json()
    served = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert served == set(routes), "a route was added or removed: map it to a client method"
    for name in routes.values():
        assert callable(getattr(Herald, name)) and callable(getattr(AsyncHerald, name)), name


async def test_the_sync_client_covers_a_queues_life(stack: Stack) -> None:
    receiver = await Receiver().start()
    herald = Herald(stack.url, stack.key)
    try:
        queue = await in_thread(herald.create_queue, "client-life", event_type_field="/type")
        assert isinstance(queue, models.QueueView) and queue.event_type_field == "/type"
        assert queue.id in [q.id for q in await in_thread(lambda: list(herald.list_queues()))]
        renamed = await in_thread(herald.update_queue, queue.id, name="client-life-2")
        assert renamed.name == "client-life-2"

        await in_thread(
            herald.register_event_type,
            queue.id,
            "invoice.paid",
            schema={"type": "object", "required": ["amount"]},
        )
        listener = await in_thread(
            herald.create_listener,
            queue.id,
            "erp",
            notify_url=receiver.url("erp"),
            headers={"X-Tenant": "acme"},
            filter_types=["invoice.*"],
        )
        assert listener.headers == {"X-Tenant": "acme"}
        assert (await in_thread(herald.get_listener, queue.id, listener.id)).name == "erp"
        assert await in_thread(herald.test_filter, queue.id, listener.id, {}, "invoice.paid")
        assert not await in_thread(herald.test_filter, queue.id, listener.id, {}, "refund.made")

        items = [{"type": "invoice.paid", "amount": n} for n in range(150)] + [b"{not json"]
        sent = await in_thread(herald.send_many, queue.id, items, wait=True, gzip_body=True)
        assert isinstance(sent, models.IngestResult)
        assert (sent.accepted, sent.rejected) == (150, 1) and len(sent.messages) == 150
        listed = await in_thread(lambda: list(herald.list_messages(queue.id)))
        assert len(listed) == 150  # two pages of 100, followed
        one = await in_thread(herald.send_json, queue.id, {"type": "refund.made"}, wait=True)
        assert isinstance(one, models.IngestResult)
        await wait_for(lambda: len(receiver.at("erp")) == 150, what="150 invoices delivered")

        first = sent.messages[0].id
        detail = await in_thread(herald.get_message, queue.id, first)
        assert detail.message.event_type == "invoice.paid"
        assert (
            await in_thread(herald.get_payload, queue.id, first)
            == b'{"type":"invoice.paid","amount":0}'
        )
        deliveries = await in_thread(lambda: list(herald.list_deliveries(queue.id, listener.id)))
        assert len(deliveries) == 150 and {d.status for d in deliveries} == {"delivered"}
        attempts = await in_thread(herald.list_attempts, queue.id, listener.id, first)
        assert attempts[0].status_code == 200
        await in_thread(herald.retry, queue.id, listener.id, first)
        await wait_for(lambda: len(receiver.at("erp")) == 151, what="the retry")
        replayed = await in_thread(
            herald.replay,
            queue.id,
            listener.id,
            datetime.now(UTC) - timedelta(hours=1),
            None,
            "all",
        )
        assert replayed.replayed == 150

        batch = await in_thread(herald.get_batch, sent.batch_id)
        assert (batch.accepted, batch.rejected) == (150, 1)
        lines = await in_thread(lambda: list(herald.batch_messages(sent.batch_id)))
        assert len(lines) == 150 and lines[0]["index"] == 0
        failures = await in_thread(lambda: list(herald.batch_failures(sent.batch_id)))
        assert [f["index"] for f in failures] == [150]

        inlet = await in_thread(herald.create_inlet, queue.id, "stripe")
        assert isinstance(inlet.url, str)
        accepted = await in_thread(herald.send_to_inlet, inlet.url, '{"type": "invoice.paid"}')
        assert accepted.accepted == 1
        assert [i.id for i in await in_thread(lambda: list(herald.list_inlets(queue.id)))] == [
            inlet.id
        ]
        assert (await in_thread(herald.get_inlet, queue.id, inlet.id)).name == "stripe"
        await in_thread(herald.delete_inlet, queue.id, inlet.id)

        old = await in_thread(herald.get_secret, queue.id, listener.id)
        new = await in_thread(herald.rotate_secret, queue.id, listener.id)
        assert new.startswith("whsec_") and new != old
        paused = await in_thread(herald.update_listener, queue.id, listener.id, enabled=False)
        assert paused.status == "paused"

        session = await in_thread(herald.create_portal_session, queue.id, capabilities=["read"])
        assert "/portal/sign-in/" in session.url
        await in_thread(herald.end_portal_session, session.id)
        key = await in_thread(herald.create_api_key, "ci", ["queues:read"])
        assert isinstance(key.key, str) and key.key.startswith("hrld_")
        assert key.id in [k.id for k in await in_thread(lambda: list(herald.list_api_keys()))]
        await in_thread(herald.revoke_api_key, key.id)
        assert (await in_thread(herald.list_event_types, queue.id))[0].name == "invoice.paid"
        await in_thread(herald.delete_event_type, queue.id, "invoice.paid")
        assert (await in_thread(herald.live)).status == "ok"
        assert (await in_thread(herald.ready)).status == "ok"
        assert "herald_ingested_messages" in await in_thread(herald.metrics)

        await in_thread(herald.delete_listener, queue.id, listener.id)
        await in_thread(herald.delete_queue, queue.id)
        with pytest.raises(NotFound) as gone:
            await in_thread(herald.get_queue, queue.id)
        assert gone.value.status == 404 and gone.value.title == "Not Found"
        assert gone.value.detail == "Queue not found"
    finally:
        herald.close()
        await receiver.stop()


async def test_the_async_client_raises_typed_errors_and_checks_fields_first(
    stack: Stack,
) -> None:
    async with AsyncHerald(stack.url, stack.key) as herald:
        queue = await herald.create_queue("client-errors")
        with pytest.raises(InvalidInput) as invalid:
            await herald.create_listener(queue.id, "bad", notify_url="ftp://example.com/x")
        assert invalid.value.status == 422
        assert [e["field"] for e in invalid.value.errors] == ["notify_url"]
        with pytest.raises(TypeError, match="no field notify"):
            await herald.create_listener(queue.id, "typo", notify="http://127.0.0.1:9/x")
        with pytest.raises(ValueError, match="max_attempts"):  # refused before sending
            await herald.create_listener(
                queue.id, "x", notify_url="http://127.0.0.1:9/x", max_attempts=0
            )
        assert [q.name async for q in herald.list_queues()].count("client-errors") == 1


@contextlib.asynccontextmanager
async def flaky_proxy(upstream: str, answers: list[str]) -> AsyncIterator[tuple[str, list[Any]]]:
    """A real HTTP server in front of Herald: for each request, the next of `answers`
    ("429", "503": refuse with Retry-After 0; "drop": forward it, then drop the answer;
    after them, forward). Yields its URL and the requests' headers as they came."""
    seen: list[Any] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        answer = answers.pop(0) if answers else "forward"
        if answer in ("429", "503"):
            return web.json_response(
                {"title": "busy", "status": int(answer), "detail": "try again"},
                status=int(answer),
                headers={"Retry-After": "0"},
            )
        async with httpx.AsyncClient(base_url=upstream) as client:
            headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
            forwarded = await client.request(
                request.method, request.path_qs, content=await request.read(), headers=headers
            )
        if answer == "drop":
            assert request.transport is not None
            request.transport.close()  # stored, but the client never hears so
            raise ConnectionResetError
        return web.Response(
            status=forwarded.status_code,
            body=forwarded.content,
            headers={"Content-Type": forwarded.headers["content-type"]},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_ingest_is_retried_with_one_idempotency_key_and_stored_once(stack: Stack) -> None:
    async with AsyncHerald(stack.url, stack.key) as direct:
        queue = await direct.create_queue("client-retries")
    async with (
        flaky_proxy(stack.url, ["429", "503", "drop"]) as (url, seen),
        AsyncHerald(url, stack.key) as herald,
    ):
        result = await herald.send_json(queue.id, {"n": 1}, wait=True)
    assert isinstance(result, models.IngestResult) and result.accepted == 1
    keys = {headers["Idempotency-Key"] for headers in seen}
    assert len(seen) == 4 and len(keys) == 1  # 429, 503, a lost answer, then the reply
    async with AsyncHerald(stack.url, stack.key) as direct:
        stored = [m async for m in direct.list_messages(queue.id)]
    assert len(stored) == 1  # the dropped answer's message, not a second one

    async with (
        flaky_proxy(stack.url, ["503"] * 5) as (url, seen),
        AsyncHerald(url, stack.key, ingest_retries=2) as herald,
    ):
        with pytest.raises(Unavailable) as refused:
            await herald.send(queue.id, b"{}")
    assert refused.value.status == 503 and len(seen) == 3


async def test_send_all_splits_any_number_of_items_into_requests_within_the_limits(
    stack: Stack,
) -> None:
    async with AsyncHerald(stack.url, stack.key) as herald:
        queue = await herald.create_queue("client-send-all")
        items = ({"n": n} for n in range(12_345))  # a generator: read as it goes
        results = await herald.send_all(queue.id, items, wait=True)
        assert [r.accepted for r in results] == [10_000, 2_345]
        assert len({r.batch_id for r in results}) == 2
        big = [f'"{letter * 1_040_000}"' for letter in "vwxyz"]  # each under 1 MiB
        sized = await herald.send_all(queue.id, big)
        assert [r.accepted for r in sized] == [4, 1]  # 4 MiB a request at most
        total = 0
        async for _ in herald.list_messages(queue.id):
            total += 1
        assert total == 12_345 + 5
