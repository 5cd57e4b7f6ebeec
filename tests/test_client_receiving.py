"""herald_client.verify on Herald's real deliveries (checked against the independent
standardwebhooks package), and the command line's verbs run as a person runs them."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from herald_client import Herald, InvalidSignature, verify
from standardwebhooks.webhooks import Webhook

from service.embedded.process import free_port
from tests.receiver import Receiver, wait_for
from tests.stack import Stack

HERALD = str(Path(sys.executable).with_name("herald"))


async def test_verify_accepts_herald_deliveries_through_a_rotation_and_refuses_forgeries(
    stack: Stack,
) -> None:
    receiver = await Receiver().start()
    herald = Herald(stack.url, stack.key)
    try:
        queue = await asyncio.to_thread(herald.create_queue, "verify")
        listener = await asyncio.to_thread(
            herald.create_listener, queue.id, "hook", notify_url=receiver.url("hook")
        )
        old = await asyncio.to_thread(herald.get_secret, queue.id, listener.id)
        await asyncio.to_thread(herald.send, queue.id, b'{"n": 1}')
        await wait_for(lambda: len(receiver.at("hook")) == 1, what="the first delivery")
        new = await asyncio.to_thread(herald.rotate_secret, queue.id, listener.id)

        async def signed_twice() -> bool:  # a drain picks the new secret up within 1 s
            count = len(receiver.at("hook"))
            await asyncio.to_thread(herald.send, queue.id, b"not json at all")
            await wait_for(lambda: len(receiver.at("hook")) > count, what="a delivery")
            return len(receiver.at("hook")[-1].headers["webhook-signature"].split()) == 2

        await wait_for(signed_twice, what="a delivery signed with both secrets")
        before, during = receiver.at("hook")[0], receiver.at("hook")[-1]

        verify(before.body, before.headers, old)
        Webhook(old).verify(before.body, before.headers)  # the independent check agrees
        for secret in (old, new):  # during the overlap either secret verifies
            verify(during.body, during.headers, secret)
            verify(during.body, {k.upper(): v for k, v in during.headers.items()}, secret)
        assert len(during.headers["webhook-signature"].split()) == 2
        with pytest.raises(InvalidSignature):
            verify(before.body, before.headers, new)  # signed before the new secret existed
        with pytest.raises(InvalidSignature):
            verify(during.body + b" ", during.headers, new)  # a tampered body
        old_time = int(time.time()) - 600
        forged = dict(during.headers)
        forged["webhook-timestamp"] = str(old_time)
        forged["webhook-signature"] = Webhook(new).sign(
            during.headers["webhook-id"], _at(old_time), during.body.decode()
        )
        with pytest.raises(InvalidSignature, match="too old"):
            verify(during.body, forged, new)  # correctly signed, but 10 minutes old
    finally:
        herald.close()
        await receiver.stop()


def _an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def _at(timestamp: int) -> datetime:  # standardwebhooks signs a datetime
    return datetime.fromtimestamp(timestamp, UTC)


async def cli(stack: Stack, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    env = {**os.environ, "HERALD_URL": stack.url, "HERALD_API_KEY": stack.key, "NO_COLOR": "1"}
    process = await asyncio.create_subprocess_exec(
        HERALD,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def ok(stack: Stack, *args: str, stdin: bytes = b"") -> str:
    code, out, err = await cli(stack, *args, stdin=stdin)
    assert code == 0, (args, out, err)
    return out


async def test_the_command_line_manages_queues_listeners_and_deliveries(
    stack: Stack, tmp_path: Path
) -> None:
    receiver = await Receiver().start()
    try:
        queue = json.loads(await ok(stack, "queues", "create", "cli-q", "--json"))
        assert "cli-q" in await ok(stack, "queues", "ls")  # a table for people
        listener = json.loads(
            await ok(
                stack,
                "listeners",
                "create",
                queue["id"],
                "cli-hook",
                "--url",
                receiver.url("hook"),
                "--header",
                "X-Tenant: acme",
                "--max-attempts",
                "1",
                "--json",
            )
        )
        assert listener["headers"] == {"X-Tenant": "acme"}
        edited = json.loads(
            await ok(
                stack,
                "listeners",
                "edit",
                queue["id"],
                listener["id"],
                "--name",
                "renamed",
                "--json",
            )
        )
        assert edited["name"] == "renamed"
        assert (
            json.loads(
                await ok(stack, "listeners", "pause", queue["id"], listener["id"], "--json")
            )["status"]
            == "paused"
        )
        assert (
            json.loads(
                await ok(stack, "listeners", "resume", queue["id"], listener["id"], "--json")
            )["status"]
            == "active"
        )
        listed = json.loads(await ok(stack, "listeners", "ls", queue["id"], "--json"))
        assert [item["name"] for item in listed] == ["renamed"]

        sent = json.loads(
            await ok(stack, "send", queue["id"], "--json", stdin=b'{"from": "stdin"}')
        )
        assert sent["accepted"] == 1
        lines = tmp_path / "many.ndjson.gz"
        lines.write_bytes(gzip.compress(b'{"n": 1}\n{"n": 2}\nnope\n'))
        raw = tmp_path / "many.ndjson"
        raw.write_bytes(gzip.decompress(lines.read_bytes()))
        text = await ok(
            stack,
            "send",
            queue["id"],
            str(raw),
            "--ndjson",
            "--gzip",
            "--event-type",
            "order.created",
        )
        assert "2 accepted, 1 rejected" in text and "item 2 rejected" in text
        await wait_for(lambda: len(receiver.at("hook")) == 3, what="three deliveries")
        assert {r.headers.get("herald-event-type") for r in receiver.at("hook")} == {
            None,
            "order.created",
        }

        delivery = sent["messages"][0]["id"]
        attempts = json.loads(
            await ok(stack, "attempts", queue["id"], listener["id"], delivery, "--json")
        )
        assert attempts[0]["status_code"] == 200
        assert "will be sent again" in await ok(
            stack, "retry", queue["id"], listener["id"], delivery
        )
        await wait_for(lambda: len(receiver.at("hook")) == 4, what="the retry")
        replayed = await ok(
            stack, "replay", queue["id"], listener["id"], "--since", _an_hour_ago(), "--all"
        )
        assert replayed.strip() == "3 deliveries will be sent again"

        shown = (await ok(stack, "secret", "show", queue["id"], listener["id"])).strip()
        rotated = (await ok(stack, "secret", "rotate", queue["id"], listener["id"])).strip()
        assert shown.startswith("whsec_") and rotated.startswith("whsec_") and shown != rotated

        code, out, err = await cli(
            stack, "listeners", "create", queue["id"], "bad", "--url", "ftp://x/y"
        )
        assert code == 1 and err.startswith("error: 422") and "notify_url" in err
        assert "Traceback" not in err and out == ""
        code, _, err = await cli(stack, "queues", "rm", "01939ad0-0000-7000-8000-000000000000")
        assert code == 1 and "404" in err and "Queue not found" in err
        env_less = await asyncio.create_subprocess_exec(
            HERALD,
            "queues",
            "ls",
            "--server",
            "http://127.0.0.1:9",
            env={**os.environ, "HERALD_API_KEY": "hrld_x"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err_bytes = await env_less.communicate()
        assert env_less.returncode == 3 and b"cannot reach Herald" in err_bytes
        await ok(stack, "listeners", "rm", queue["id"], listener["id"])
        await ok(stack, "queues", "rm", queue["id"])
    finally:
        await receiver.stop()


async def _lines_until(stream: asyncio.StreamReader, done, timeout_s: float = 30) -> list[str]:
    """Lines of `stream` until `done(lines)` holds (fails after `timeout_s`)."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not done(lines):
        left = deadline - time.monotonic()
        assert left > 0, f"waited {timeout_s}s; got {lines}"
        line = await asyncio.wait_for(stream.readline(), left)
        assert line, f"the command ended; got {lines}"
        lines.append(line.decode())
    return lines


async def test_listen_shows_each_webhook_verified_and_tail_follows_deliveries(
    stack: Stack,
) -> None:
    queue = json.loads(await ok(stack, "queues", "create", "cli-listen", "--json"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    listener = json.loads(
        await ok(stack, "listeners", "create", queue["id"], "local", "--url", url, "--json")
    )
    secret = (await ok(stack, "secret", "show", queue["id"], listener["id"])).strip()
    env = {**os.environ, "HERALD_URL": stack.url, "HERALD_API_KEY": stack.key, "NO_COLOR": "1"}
    listen = await asyncio.create_subprocess_exec(
        HERALD,
        "listen",
        "--port",
        str(port),
        "--secret",
        secret,
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    tail = await asyncio.create_subprocess_exec(
        HERALD,
        "tail",
        queue["id"],
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert listen.stderr is not None and listen.stdout is not None
        assert b"listening on" in await asyncio.wait_for(listen.stderr.readline(), 30)
        await asyncio.sleep(0)  # tail has read the queue's newest message (none) by now or soon
        await ok(stack, "send", queue["id"], "--event-type", "invoice.paid", stdin=b'{"amount": 5}')
        received = await _lines_until(listen.stdout, lambda lines: len(lines) == 1)
        webhook = json.loads(received[0])
        assert webhook["signature"] == "verified" and webhook["body"] == '{"amount": 5}'
        assert webhook["headers"]["herald-event-type"] == "invoice.paid"

        assert tail.stdout is not None
        events = await _lines_until(
            tail.stdout,
            lambda lines: any(
                json.loads(line)["delivery"]["status"] == "delivered" for line in lines
            ),
        )
        last = json.loads(events[-1])
        assert last["message"]["event_type"] == "invoice.paid"
        assert last["delivery"]["listener_id"] == listener["id"]
    finally:
        for process in (listen, tail):
            process.terminate()
            await process.wait()


async def test_the_quick_start_listens_for_a_queue_and_cleans_up(stack: Stack) -> None:
    """README's quick start after `make dev`: a queue, `herald listen --queue`, a send."""
    queue_id = (await ok(stack, "queues", "create", "quick-start", "-q")).strip()
    port = free_port()
    env = {**os.environ, "HERALD_URL": stack.url, "HERALD_API_KEY": stack.key}
    listen = await asyncio.create_subprocess_exec(
        HERALD,
        "listen",
        "--port",
        str(port),
        "--queue",
        queue_id,
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert listen.stderr is not None and listen.stdout is not None
        await _lines_until(listen.stderr, lambda lines: any("listening on" in x for x in lines))
        await ok(stack, "send", queue_id, stdin=b'{"hello": "world"}')
        webhook = json.loads((await _lines_until(listen.stdout, lambda lines: lines))[0])
        assert webhook["signature"] == "verified" and webhook["body"] == '{"hello": "world"}'
    finally:
        listen.terminate()
        await listen.wait()
    assert json.loads(await ok(stack, "listeners", "ls", queue_id, "--json")) == []
