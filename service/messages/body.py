"""Reading an ingest request body: bounded in size, gzip inflated as it streams.

Nothing is ever inflated whole: each chunk is decompressed with `max_length`, so a gzip
bomb costs at most the request limit in memory before it is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from service.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

GZIP_WBITS = 16 + zlib.MAX_WBITS
FEED_SLICE = 64 * 1024
MAX_GZIP_MEMBERS = 64
ACCEPTED_ENCODINGS = ("", "identity", "gzip", "x-gzip")


class _Inflater:
    """Streams gzip members (concatenated members included) with a bound on the output.

    Input goes to zlib in slices of FEED_SLICE bytes: when a member ends, zlib copies what
    follows it into `unused_data`, so a chunk of many tiny members fed whole would be
    copied once per member. At most MAX_GZIP_MEMBERS members are read.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        self.members = 1
        self._zlib = zlib.decompressobj(GZIP_WBITS)

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        for start in range(0, len(view), FEED_SLICE):
            self._feed(view[start : start + FEED_SLICE])

    def _feed(self, data: bytes | memoryview) -> None:
        while data:
            if self._zlib.eof:  # the member ended: what follows starts the next one
                self.members += 1
                if self.members > MAX_GZIP_MEMBERS:
                    raise BadRequest(f"the gzip body has more than {MAX_GZIP_MEMBERS} members")
                self._zlib = zlib.decompressobj(GZIP_WBITS)
            out = self._zlib.decompress(data, self.limit - self.size + 1)
            self._keep(out)
            data = self._zlib.unconsumed_tail or self._zlib.unused_data

    def _keep(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self.limit:
            raise PayloadTooLarge(f"the decompressed body is over the limit of {self.limit} bytes")
        self.parts.append(out)

    def finish(self) -> bytes:
        if not self._zlib.eof:
            raise BadRequest("the gzip body is truncated")
        return b"".join(self.parts)


def check_encoding(content_encoding: str | None) -> bool:
    """True for gzip; raises UnsupportedMediaType for anything but gzip or identity."""
    encoding = (content_encoding or "").strip().lower()
    if encoding not in ACCEPTED_ENCODINGS:
        raise UnsupportedMediaType(
            f"Content-Encoding '{content_encoding}' is not supported; use gzip or identity"
        )
    return encoding in ("gzip", "x-gzip")


async def read_body(
    stream: AsyncIterator[bytes], *, gzipped: bool, limit: int, drain_limit: int
) -> bytes:
    """The decoded body, or PayloadTooLarge once it passes `limit` (compressed or not).

    On a 413 the rest of the body is read and dropped, up to `drain_limit` bytes in all,
    so that clients that send the whole body before reading get to see the status.
    """
    inflater = _Inflater(limit) if gzipped else None
    parts: list[bytes] = []
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
            if inflater is not None:
                try:
                    inflater.feed(chunk)
                except zlib.error as exc:
                    raise BadRequest(f"the gzip body is not valid: {exc}") from exc
            else:
                parts.append(chunk)
    except PayloadTooLarge:
        await drain(stream, drain_limit - received)
        raise
    return inflater.finish() if inflater is not None else b"".join(parts)


async def drain(stream: AsyncIterator[bytes], budget: int) -> None:
    """Reads and drops up to `budget` bytes of what is left of the body."""
    async for chunk in stream:
        budget -= len(chunk)
        if budget <= 0:
            return
