"""`/health/live` and `/health/ready`."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from service.errors import problem_response

READY_TIMEOUT_S = 2.0


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="200 while the process runs")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="200 when Postgres (writable) and Redis answer, else 503")
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        checks = {"postgres": await _check(_postgres(state)), "redis": await _check(_redis(state))}
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            return problem_response(
                503,
                f"Not ready: {', '.join(failed)} unavailable",
                code="unavailable",
                headers={"Retry-After": "2"},
            )
        return Response({"status": "ok", "checks": checks})


async def _postgres(state: State) -> None:
    async with state.engine.connect() as connection:
        read_only = await connection.scalar(text("SELECT current_setting('transaction_read_only')"))
        if read_only == "on":
            raise RuntimeError("Postgres is read-only")


async def _redis(state: State) -> None:
    await state.redis.ping()


async def _check(probe: Any) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await probe
    except Exception:
        return False
    return True
