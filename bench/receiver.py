"""A fast webhook receiver for benchmarks: counts POSTs and, for bodies that carry their
send time as {"t": <unix seconds>}, records ingest-to-receiver latency."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiohttp import web

state: dict[str, list[float]] = {"latencies": [], "count": [0.0]}


async def receive(request: web.Request) -> web.Response:
    body = await request.read()
    state["count"][0] += 1
    if body.startswith(b'{"t":'):
        state["latencies"].append(time.time() - json.loads(body)["t"])
    return web.Response(text="ok")


async def hang(_: web.Request) -> web.Response:
    """A listener that never answers."""
    await asyncio.sleep(3600)
    return web.Response(text="late")


async def stats(_: web.Request) -> web.Response:
    return web.json_response({"count": int(state["count"][0]), "latencies": state["latencies"]})


async def reset(_: web.Request) -> web.Response:
    state["latencies"].clear()
    state["count"][0] = 0
    return web.json_response({})


def main() -> None:
    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/hang", hang)
    app.router.add_post("/{name}", receive)
    web.run_app(
        app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None,
        shutdown_timeout=1,
    )  # fmt: skip


if __name__ == "__main__":
    main()
