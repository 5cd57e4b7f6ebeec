"""arq WorkerSettings: the drain job, with the worker's clients and its periodic jobs
(workers/crons.py) started in on_startup."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings
from arq.worker import func

from service.config import Settings
from service.lib.gc_tuning import tune_after_startup
from service.operational_events.publisher import EventPublisher
from service.stats.minutes import purge_old_minutes
from workers.context import WorkerContext
from workers.crons import Cron, CronRunner
from workers.drain import drain_listener
from workers.liveness import probe_liveness
from workers.retention import purge
from workers.sweeper import sweep

# arq keeps a job's in-progress key for its timeout. A drain gives its slot back after its
# time slice, but arq's timeout is only the last resort for a drain that hangs.
DRAIN_TIMEOUT_S = 3600


def periodic_jobs(herald: WorkerContext) -> list[Cron]:
    events = EventPublisher(herald.pool)

    async def publish_events() -> None:
        await herald.waker.wake_now(set(await events.publish()))

    return [
        Cron("sweep", lambda: sweep(herald), every_s=1, timeout_s=60, at_startup=True),
        Cron("liveness", lambda: probe_liveness(herald), every_s=1, timeout_s=60),
        Cron("events", publish_events, every_s=1, timeout_s=60),
        Cron("purge", lambda: purge(herald), every_s=60, offset_s=30, timeout_s=120),
        Cron("activity", lambda: purge_old_minutes(herald.pool), every_s=3600, timeout_s=600),
    ]


def build_worker_settings(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for arq's Worker, for this process's Settings."""
    settings = settings or Settings()

    async def startup(ctx: dict[str, Any]) -> None:
        herald = ctx["herald"] = await WorkerContext.start(settings, ctx["redis"])
        crons = ctx["crons"] = CronRunner(
            ctx["redis"], settings.arq_queue_name, periodic_jobs(herald)
        )
        crons.start()
        tune_after_startup()

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "crons" in ctx:
            await ctx["crons"].close()
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
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.arq_queue_name,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": 0.02,
        "job_completion_wait": int(settings.worker_grace_s),
        "handle_signals": True,
    }
