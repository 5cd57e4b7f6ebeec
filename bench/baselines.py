"""The delivery baselines, run as their own process on the core Herald's worker uses, so
they compete with the same servers for the same CPU, on the same event loop:

    python -m bench.baselines http URL COUNT       # raw aiohttp client, 64 at a time
    python -m bench.baselines reqwest URL COUNT    # raw pyreqwest client, 64 at a time
    python -m bench.baselines kafka BOOTSTRAP TOPIC COUNT   # raw batched aiokafka producer

Each prints its rate (per second) on stdout.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Iterator

import aiohttp
from aiokafka import AIOKafkaProducer

from service.lib.event_loop import new_event_loop
from service.lib.ids import new_id
from workers.sinks.kafka import MAX_BATCH_BYTES

WARM_UP = 1_000  # requests before the raw loop's clock starts
BODY_300 = b'{"event": "order.paid", "order_id": %d, "pad": "' + b"x" * 240 + b'"}'


async def raw_delivery_loop(url: str, count: int) -> float:
    """An aiohttp client posting the same bodies, 64 at a time. The clock starts after a
    warm-up (its connections open, its code run), as Herald's worker is measured warm."""
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sender(todo: Iterator[int]) -> None:
            for n in todo:
                async with session.post(
                    url, data=BODY_300 % n, headers={"content-type": "application/json"}
                ) as r:
                    await r.read()

        warm_up = iter(range(min(WARM_UP, count)))
        await asyncio.gather(*(sender(warm_up) for _ in range(64)))
        todo = iter(range(count))
        started = time.perf_counter()
        await asyncio.gather(*(sender(todo) for _ in range(64)))
        return count / (time.perf_counter() - started)


async def raw_reqwest_loop(url: str, count: int) -> float:
    """The same loop with pyreqwest (reqwest and hyper, in Rust), the candidate client."""
    from pyreqwest.client import ClientBuilder

    client = ClientBuilder().max_connections(64).build()
    async with client:

        async def sender(todo: Iterator[int]) -> None:
            for n in todo:
                request = (
                    client.post(url)
                    .body_bytes(BODY_300 % n)
                    .header("content-type", "application/json")
                    .build()
                )
                await (await request.send()).bytes()

        warm_up = iter(range(min(WARM_UP, count)))
        await asyncio.gather(*(sender(warm_up) for _ in range(64)))
        todo = iter(range(count))
        started = time.perf_counter()
        await asyncio.gather(*(sender(todo) for _ in range(64)))
        return count / (time.perf_counter() - started)


async def raw_producer_rate(bootstrap: str, topic: str, count: int) -> float:
    """aiokafka sending the same records as Herald (the body; the message id as key; the
    contract's four headers), acks=all, linger 5 ms, Herald's batch size, all awaited."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=MAX_BATCH_BYTES
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up")
        queue_id = str(uuid.uuid4()).encode()
        ids = [str(new_id()).encode() for _ in range(count)]
        started = time.perf_counter()
        sends = [
            await producer.send(
                topic,
                BODY_300 % n,
                key=ids[n],
                headers=[
                    ("webhook-id", ids[n]),
                    ("content-type", b"application/json"),
                    ("herald-queue-id", queue_id),
                    ("herald-message-id", ids[n]),
                ],
            )
            for n in range(count)
        ]
        await asyncio.gather(*sends)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


def main(argv: list[str]) -> None:
    kind, *args = argv
    # Herald's worker's event loop, so the loop is not the difference being measured.
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        if kind == "http":
            rate = runner.run(raw_delivery_loop(args[0], int(args[1])))
        elif kind == "reqwest":
            rate = runner.run(raw_reqwest_loop(args[0], int(args[1])))
        else:
            rate = runner.run(raw_producer_rate(args[0], args[1], int(args[2])))
    print(rate)


if __name__ == "__main__":
    main(sys.argv[1:])
