"""A small closed-loop load generator on aiohttp: N concurrent senders for D seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def post_loop(
    url: str,
    body: Callable[[int], bytes],
    *,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    expect: int,
) -> LoadResult:
    """POSTs as fast as `concurrency` senders can for `seconds`; counts `expect` answers."""
    result = LoadResult()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds
        counter = iter(range(1 << 62))

        async def sender() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    async with session.post(
                        url, data=body(next(counter)), headers=headers
                    ) as response:
                        await response.read()
                        ok = response.status == expect
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    result.requests += 1
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                else:
                    result.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result
