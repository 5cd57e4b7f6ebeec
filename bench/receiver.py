"""A fast webhook receiver for benchmarks: counts POSTs (in all and per path) and, for bodies
that carry their send time as {"t": <unix seconds>}, records ingest-to-receiver latency.
Also a listener that never answers (/hang) and a liveness URL answering a gzip bomb (/bomb)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import zlib
from collections import Counter

from aiohttp import web

state: dict[str, list[float]] = {"latencies": [], "count": [0.0]}
paths: Counter[str] = Counter()
BOMB_INFLATED = 64 * 2**20


def gzip_bomb() -> bytes:
    """64 KiB of gzip that inflates to 64 MiB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(2**20)
    return b"".join(packer.compress(zeros) for _ in range(BOMB_INFLATED // len(zeros))) + (
        packer.flush()
    )


BOMB = gzip_bomb()


async def receive(request: web.Request) -> web.Response:
    body = await request.read()
    state["count"][0] += 1
    paths[request.match_info["name"]] += 1
    if body.startswith(b'{"t":'):
        state["latencies"].append(time.time() - json.loads(body)["t"])
    return web.Response(text="ok")


async def hang(_: web.Request) -> web.Response:
    """A listener that never answers."""
    await asyncio.sleep(3600)
    return web.Response(text="late")


async def bomb(_: web.Request) -> web.Response:
    """A liveness URL whose answer inflates 1,000-fold."""
    return web.Response(body=BOMB, headers={"content-encoding": "gzip"})


async def stats(_: web.Request) -> web.Response:
    return web.json_response(
        {"count": int(state["count"][0]), "latencies": state["latencies"], "paths": paths}
    )


async def reset(_: web.Request) -> web.Response:
    state["latencies"].clear()
    state["count"][0] = 0
    paths.clear()
    return web.json_response({})


def main() -> None:
    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/hang", hang)
    app.router.add_get("/bomb", bomb)
    app.router.add_post("/{name}", receive)
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None,
        shutdown_timeout=1,
    )  # fmt: skip


if __name__ == "__main__":
    main()
