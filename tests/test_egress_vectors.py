"""SSRF vectors against a Herald that refuses private targets, as production runs: each is
refused at registration, and a listener row that already points there (stored before the
rules) gets a refused attempt while the receiver behind it gets nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.receiver import Receiver, wait_for
from tests.stack import Stack

# Each reaches 127.0.0.1:{port} (or would, through the address it embeds).
VECTORS = {
    "literal": "http://127.0.0.1:{port}/v",
    "unicode-13-digit": "http://127.0.0.\U0001fbf1:{port}/v",
    "fullwidth-digits": "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/v",
    "ideographic-dots": "http://127\u30020\u30020\u30021:{port}/v",
    "decimal": "http://2130706433:{port}/v",
    "hex": "http://0x7f.1:{port}/v",
    "octal": "http://0177.0.0.1:{port}/v",
    "short": "http://127.1:{port}/v",
    "trailing-dot": "http://127.0.0.1.:{port}/v",
    "percent-encoded": "http://%31%32%37.0.0.1:{port}/v",
    "dns-name": "http://localhost:{port}/v",
    "ipv4-mapped": "http://[::ffff:127.0.0.1]:{port}/v",
    "ipv4-compatible": "http://[::127.0.0.1]:{port}/v",
    "ipv4-translated": "http://[::ffff:0:127.0.0.1]:{port}/v",
    "nat64": "http://[64:ff9b::7f00:1]:{port}/v",
    "nat64-local-use": "http://[64:ff9b:1:7f00:1::]:{port}/v",
    "site-local": "http://[fec0::1]:{port}/v",
    "metadata-unicode": "http://169.254.169.25\U0001fbf4:{port}/v",
}
PUBLIC = "http://93.184.215.14/hook"  # an address literal: registration needs no DNS


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    stack = await Stack(HERALD_ALLOW_PRIVATE_TARGETS="false").start()
    yield stack
    await stack.stop()


@pytest.mark.parametrize("field", ["notify_url", "liveness_url"])
async def test_registration_refuses_every_vector(stack: Stack, field: str) -> None:
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": f"reg-{field}"})).json()["queue"]
        path = f"/v1/queues/{queue['id']}/listeners"
        for name, url in VECTORS.items():
            body = {"name": name, "notify_url": PUBLIC, field: url.format(port=8080)}
            response = await client.post(path, json=body)
            assert response.status_code == 422, (name, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [field], name
            listener = await client.post(path, json={"name": name, "notify_url": PUBLIC})
            listener_id = listener.json()["listener"]["id"]
            response = await client.patch(f"{path}/{listener_id}", json={field: body[field]})
            assert response.status_code == 422, (name, response.text)


async def test_the_worker_refuses_every_vector_stored_before_the_rules(
    stack: Stack, receiver: Receiver
) -> None:
    async with stack.client() as client:
        queue = (await client.post("/v1/queues", json={"name": "stored"})).json()["queue"]
        path = f"/v1/queues/{queue['id']}/listeners"
        listeners: dict[str, str] = {}
        for name in VECTORS:
            body = {"name": name, "notify_url": PUBLIC, "enabled": False, "retry_schedule_s": [600]}
            listeners[name] = (await client.post(path, json=body)).json()["listener"]["id"]
        for name, listener_id in listeners.items():
            url = VECTORS[name].format(port=receiver.port)
            await stack.sql(
                "UPDATE listeners SET notify_url = :url, liveness_url = :url WHERE id = :id",
                url=url,
                id=listener_id,
            )
        response = await client.post(
            f"/v1/queues/{queue['id']}/messages", content=b"secret?", headers={"sync": "1"}
        )
        message_id = response.json()["messages"][0]["id"]
        for listener_id in listeners.values():
            await client.patch(f"{path}/{listener_id}", json={"enabled": True})

        async def attempts(listener_id: str) -> list[dict[str, Any]]:
            url = f"{path}/{listener_id}/deliveries/{message_id}/attempts"
            found: list[dict[str, Any]] = (await client.get(url)).json()["attempts"]
            return found

        async def all_attempted() -> bool:
            return all([await attempts(listener_id) for listener_id in listeners.values()])

        await wait_for(all_attempted, timeout_s=30, what="an attempt per listener")
        for name, listener_id in listeners.items():
            (attempt,) = await attempts(listener_id)
            assert attempt["error"].startswith("blocked:"), (name, attempt)
            assert attempt["status_code"] is None and attempt["response_body"] is None
    assert receiver.received == []
