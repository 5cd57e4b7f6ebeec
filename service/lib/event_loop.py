"""The event loop Herald's own processes run on: uvloop where it builds, asyncio elsewhere.

Measured in deliver-1 (one worker, 4 runs each way, CPU per delivery against the
receiver's CPU per request as the machine-speed yardstick): the worker spent 1.7 times the
receiver's CPU on uvloop and 2.0 times on asyncio. A raw aiohttp client loop gained
nothing measurable from it, so the gain is in what Herald adds (timers for every
attempt's deadline, asyncpg and Redis round trips, task switches).
"""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # Windows: uvloop does not build there
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
