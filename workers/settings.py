"""arq WorkerSettings: the drain job and the cron jobs, with clients built in on_startup."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func

from service.config import Settings
from service.lib.gc_tuning import tune_after_startup
from workers.context import WorkerContext
from workers.drain import drain_listener
from workers.liveness import probe_liveness
from workers.retention import purge
from workers.sweeper import sweep

EVERY_SECOND = set(range(60))
# arq keeps a job's in-progress key for its timeout: long drains are fine (one per listener,
# guarded by our own lock), but a dead worker's cron ticks must not be blocked for long.
DRAIN_TIMEOUT_S = 24 * 3600


def build_worker_settings(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for arq's Worker, for this process's Settings."""
    settings = settings or Settings()

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["herald"] = await WorkerContext.start(settings, ctx["redis"])
        tune_after_startup()

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "herald" in ctx:
            await ctx["herald"].close()

    return {
        "functions": [
            # keep_result=0: a finished drain leaves nothing behind that would block the next.
            func(
                drain_listener,
                name="drain_listener",
                keep_result=0,
                timeout=DRAIN_TIMEOUT_S,
                max_tries=3,
            ),
        ],
        "cron_jobs": [
            cron(sweep, second=EVERY_SECOND, run_at_startup=True, keep_result=0, unique=True),
            cron(probe_liveness, second=EVERY_SECOND, keep_result=0, unique=True),
            cron(purge, second={30}, keep_result=0, unique=True, timeout=120),
        ],
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.arq_queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": 0.02,
        "job_completion_wait": int(settings.worker_grace_s),
        "handle_signals": True,
    }
