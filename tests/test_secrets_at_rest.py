"""Listener headers are encrypted at rest, and HERALD_SECRET_KEY can be rotated: several
keys (newest first) decrypt, `herald secrets rotate` re-encrypts with the newest, and a
key that cannot decrypt what is stored stops the process at start-up, saying why."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg

from service.config import Settings
from service.lib.secrets import new_encryption_key
from tests.conftest import Org
from tests.receiver import Receiver, wait_for
from tests.stack import Stack

CREDENTIAL = "Bearer receiver-credential-7f3a"


async def test_listener_headers_are_encrypted_in_the_database(
    org: Org, settings: Settings, receiver: Receiver, worker: object
) -> None:
    queue = (await org.post("/v1/queues", json={"name": "sealed"})).json()["queue"]
    created = await org.post(
        f"/v1/queues/{queue['id']}/listeners",
        json={
            "name": "l",
            "notify_url": receiver.url("sealed"),
            "headers": {"authorization": CREDENTIAL},
        },
    )
    listener_id = created.json()["listener"]["id"]
    assert created.json()["listener"]["headers"] == {"authorization": CREDENTIAL}

    url = settings.database_url.replace("postgresql+asyncpg", "postgresql")
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow("SELECT * FROM listeners WHERE id = $1", listener_id)
    finally:
        await connection.close()
    assert row is not None
    raw = json.dumps({k: v.hex() if isinstance(v, bytes) else str(v) for k, v in row.items()})
    assert "receiver-credential" not in raw
    assert CREDENTIAL.encode().hex() not in raw

    await org.post(f"/v1/queues/{queue['id']}/messages", content=b"{}")
    await wait_for(lambda: len(receiver.at("sealed")) == 1, what="the delivery")
    assert receiver.at("sealed")[0].headers["authorization"] == CREDENTIAL


async def test_rotating_the_secret_key(receiver: Receiver) -> None:
    old, new = new_encryption_key(), new_encryption_key()
    stack = await Stack(HERALD_SECRET_KEY=old).start()
    try:
        async with stack.client() as client:
            queue = (await client.post("/v1/queues", json={"name": "rot"})).json()["queue"]
            path = f"/v1/queues/{queue['id']}/listeners"
            listener = (
                await client.post(
                    path,
                    json={
                        "name": "l",
                        "notify_url": receiver.url("rot"),
                        "headers": {"authorization": CREDENTIAL},
                    },
                )
            ).json()["listener"]
            secret = (await client.get(f"{path}/{listener['id']}/secret")).json()["secret"]
        receiver.verify_with("rot", secret)

        async def delivered(n: int) -> None:
            async with stack.client() as client:
                await client.post(f"/v1/queues/{queue['id']}/messages", content=b"{}")
            await wait_for(lambda: len(receiver.at("rot")) == n, what=f"delivery {n}")
            got = receiver.at("rot")[-1]
            assert got.headers["authorization"] == CREDENTIAL
            assert got.signature_valid is True

        await delivered(1)

        # The new key alone cannot open what the old one sealed: neither process starts.
        await stack.restart(HERALD_SECRET_KEY=new)
        for process in (stack.api, stack.worker):
            assert process is not None
            assert await asyncio.wait_for(process.wait(), timeout=30) != 0
        for log in ("service.cli.log", "workers.log"):
            assert "HERALD_SECRET_KEY cannot decrypt" in (Path(stack.log_dir) / log).read_text()

        # Both keys, newest first: everything works, and rotation re-encrypts with the new.
        code, output = await stack.herald("secrets", "rotate", HERALD_SECRET_KEY=f"{new},{old}")
        assert code == 0, output
        assert "1 listener" in output

        # Now the new key alone is enough.
        await stack.restart(HERALD_SECRET_KEY=new)
        await stack.wait_ready()
        await delivered(2)
        async with stack.client() as client:
            again = await client.get(f"{path}/{listener['id']}/secret")
            assert again.json()["secret"] == secret
    finally:
        await stack.stop()


async def test_rotate_refuses_keys_that_cannot_decrypt() -> None:
    stack = await Stack().start()
    try:
        code, output = await stack.herald(
            "secrets", "rotate", HERALD_SECRET_KEY=new_encryption_key()
        )
        assert code != 0
        assert "HERALD_SECRET_KEY cannot decrypt" in output
    finally:
        await stack.stop()
