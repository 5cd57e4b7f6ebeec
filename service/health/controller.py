"""`/health/live` and `/health/ready`."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import msgspec
from litestar import Controller, get
from litestar.datastructures import State

from service.db.engine import check_writable
from service.errors import Unavailable

READY_TIMEOUT_S = 2.0


class Live(msgspec.Struct):
    status: Literal["ok"] = "ok"


class ReadyChecks(msgspec.Struct):
    postgres: bool
    redis: bool


class Ready(msgspec.Struct):
    checks: ReadyChecks
    status: Literal["ok"] = "ok"


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="200 while the process runs")
    async def live(self) -> Live:
        return Live()

    @get("/ready", summary="200 when Postgres (writable) and Redis answer, else 503")
    async def ready(self, state: State) -> Ready:
        postgres = await _check(check_writable(state.engine))
        checks = ReadyChecks(postgres, await _check(_redis(state)))
        failed = [name for name in ("postgres", "redis") if not getattr(checks, name)]
        if failed:
            raise Unavailable(f"Not ready: {', '.join(failed)} unavailable", retry_after_s=2)
        return Ready(checks)


async def _redis(state: State) -> None:
    await state.redis.ping()


async def _check(probe: Any) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await probe
    except Exception:
        return False
    return True
