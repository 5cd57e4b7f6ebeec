"""scale-out: the same held backlog on 10 listeners delivered by one worker process, then
by two (each a process of its own on the server core, with the API and the receiver as in
the other scenarios). On this 2-core machine both workers share one core, so the figure
shows the method's cost more than its gain: more workers pay off with more cores, and
with listeners enough that every worker has drains to run (one drain a listener)."""

from __future__ import annotations

from typing import Any

from bench.delivery import IN_FLIGHT, held_backlog_rate
from bench.harness import Bench

LISTENERS = 10


async def scale_out(bench: Bench) -> list[tuple[str, dict[str, Any]]]:
    messages = int(bench.pick(full=3_000, quick=1_000, smoke=20))
    receiver, receiver_url = await bench.receiver()
    rates = {}
    for workers in (1, 2):
        listeners = [
            {"notify_url": f"{receiver_url}/w{workers}-{n}", "max_in_flight": IN_FLIGHT}
            for n in range(LISTENERS)
        ]
        expect = messages * LISTENERS
        rates[workers] = await held_backlog_rate(
            bench, receiver_url, listeners, messages, expect, workers=workers
        )
    await bench.stop(receiver)
    return [
        (
            "scale-out",
            {
                "value": rates[2],
                "baseline": rates[1],
                "unit": "deliveries/s",
                "target": None,
                "note": f"{messages:,} messages to {LISTENERS} listeners: 2 worker processes "
                f"{rates[2]:,.0f}/s against 1 worker's {rates[1]:,.0f}/s (on one core)",
            },
        )
    ]
