"""The attempt deadline: expiry ends the block quietly, any other cancellation goes on."""

from __future__ import annotations

import asyncio
import time

import pytest

from workers.sinks.deadlines import TICK_S, Deadlines


async def test_a_block_that_outlives_its_deadline_ends_expired_in_time() -> None:
    deadlines = Deadlines()
    started = time.monotonic()
    with deadlines.within(0.1) as deadline:
        await asyncio.sleep(10)
    elapsed = time.monotonic() - started
    assert deadline.expired
    assert 0.1 <= elapsed < 0.1 + TICK_S + 0.5


async def test_a_block_that_finishes_in_time_is_not_cancelled_later() -> None:
    deadlines = Deadlines()
    with deadlines.within(0.05) as deadline:
        await asyncio.sleep(0)
    await asyncio.sleep(0.05 + 3 * TICK_S)  # past the deadline: must not be cancelled here
    assert not deadline.expired


async def test_a_cancellation_from_outside_is_not_taken_for_expiry() -> None:
    deadlines = Deadlines()
    entered = asyncio.Event()

    async def attempt() -> None:
        with deadlines.within(0.05):
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(attempt())
    await entered.wait()
    task.cancel()  # e.g. the worker shutting down
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_shutdown_that_coincides_with_expiry_still_cancels_the_task() -> None:
    deadlines = Deadlines()
    entered = asyncio.Event()
    after_block = asyncio.Event()

    async def attempt() -> None:
        with deadlines.within(0.05):
            entered.set()
            try:
                await asyncio.sleep(10)
            finally:
                asyncio.current_task().cancel()  # type: ignore[union-attr]  # a second request
        after_block.set()
        await asyncio.sleep(10)

    task = asyncio.create_task(attempt())
    await entered.wait()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
    assert not after_block.is_set()
