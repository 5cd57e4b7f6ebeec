"""arq WorkerSettings: clients built in on_startup and kept in ctx; cron jobs."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings

from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from workers.sweeper import sweep


async def on_startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["engine"] = create_engine(settings)
    ctx["sessionmaker"] = create_sessionmaker(ctx["engine"])


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


def build_worker_settings(settings: Settings | None = None) -> type:
    settings = settings or Settings()
    redis = RedisSettings.from_dsn(settings.redis_url)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        await on_startup(ctx)

    class WorkerSettings:
        redis_settings = redis
        functions = [sweep]
        cron_jobs = [cron(sweep, second=set(range(0, 60, 5)), run_at_startup=True)]
        on_startup = startup
        on_shutdown = on_shutdown
        max_jobs = 100
        handle_signals = True

    return WorkerSettings
