"""A closed-loop HTTP/1.1 load generator: N keep-alive connections POSTing for D seconds.

Written on asyncio's Protocol rather than an HTTP client library: it shares a core with
Postgres in the ingest scenarios, and aiohttp's ~180 us of CPU per request left Postgres
too little of it, so the load generator was what the figures measured. Here a request is
one write of prepared bytes and a response is found by its Content-Length.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def add(self, other: LoadResult) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms


class _Connection(asyncio.Protocol):
    """One keep-alive connection; `exchange` sends a request and returns the status."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end])
        match = CONTENT_LENGTH.search(head)
        if match is None:
            self._fail(ConnectionError(f"no content-length in {head[:200]!r}"))
            return
        total = end + 4 + int(match.group(1))
        if len(self.buffer) < total:
            return
        del self.buffer[:total]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection closed"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.waiter = None
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def _request_head(url: str, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {path} HTTP/1.1", f"host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return parts.hostname or "127.0.0.1", parts.port or 80, "\r\n".join(lines).encode()


async def post_loop(
    url: str,
    body: Callable[[int], bytes],
    *,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    expect: int,
) -> LoadResult:
    """POSTs as fast as `concurrency` connections can for `seconds`; counts `expect` answers."""
    host, port, head = _request_head(url, headers)
    result = LoadResult()
    loop = asyncio.get_running_loop()
    deadline = time.perf_counter() + seconds
    counter = iter(range(1 << 62))

    async def sender() -> None:
        connection: _Connection | None = None
        while time.perf_counter() < deadline:
            payload = body(next(counter))
            request = b"%s\r\ncontent-length: %d\r\n\r\n%s" % (head, len(payload), payload)
            started = time.perf_counter()
            try:
                if (
                    connection is None
                    or connection.transport is None
                    or (connection.transport.is_closing())
                ):
                    _, connection = await loop.create_connection(_Connection, host, port)
                status = await connection.exchange(request)
            except OSError:
                connection, status = None, 0
            if status == expect:
                result.requests += 1
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                result.errors += 1
        if connection is not None and connection.transport is not None:
            connection.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


Measure = Callable[[float], Awaitable[LoadResult]]


async def interleaved(
    herald: Measure, baseline: Measure, *, seconds: float, slices: int
) -> tuple[LoadResult, LoadResult]:
    """Each side measured for `seconds` in all, in `slices` turns taken alternately: the
    machine's slow and fast moments (it is shared and noisy) fall on both sides alike,
    so their ratio varies far less than that of two measurements taken one after another."""
    totals = LoadResult(), LoadResult()
    for _ in range(slices):
        for total, measure in zip(totals, (baseline, herald), strict=True):
            total.add(await measure(seconds / slices))
    return totals[1], totals[0]
