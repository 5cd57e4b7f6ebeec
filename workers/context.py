"""Everything a worker process builds once at startup and hands to its jobs (arq's ctx)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

import asyncpg
from arq.connections import ArqRedis

from service.config import Settings
from service.db.capacity import check_pool_capacity
from service.db.engine import create_pg_pool
from service.deliveries.wakeup import Waker, WakeSignals
from service.lib.metrics import MetricsPublisher
from service.lib.secrets import SecretBox
from service.secret_keys import check_secret_key
from service.stats.minutes import DeliveryMinutes
from workers.bodies import BodyBudget
from workers.egress import Egress, GuardedResolver
from workers.egress_pinned import PinnedClients
from workers.fair_share import FairShare
from workers.metrics_server import serve_metrics
from workers.recorder import Recorder
from workers.sinks import Sink
from workers.sinks.http import HttpSink
from workers.sinks.reqwest_http import ReqwestSink

# Every worker statement finds its rows by key, in tables that stay in memory while they
# are hot: at the default random_page_cost of 4 the planner chose to scan all 100,000
# deliveries to record 640 outcomes (74 ms) rather than make 640 lookups by ctid (5 ms).
# For the same reason a statement's plan does not depend on its parameters, so each is
# planned once per connection: left to choose, Postgres planned every claim again (its
# generic plan, the same key lookups, is estimated for a LIMIT of unknown size), which
# was about a third of the claim's cost at 32 deliveries a claim.
PLANNER_SETTINGS = {"random_page_cost": "1.1", "plan_cache_mode": "force_generic_plan"}


def webhook_sink(settings: Settings, egress: Egress) -> Sink:
    if settings.egress_client == "aiohttp":
        return HttpSink(egress)
    pinned = PinnedClients(
        GuardedResolver(settings.egress_policy), per_host=settings.egress_connections_per_host
    )
    return ReqwestSink(egress, pinned)


@dataclass
class WorkerContext:
    settings: Settings
    pool: asyncpg.Pool
    redis: ArqRedis
    waker: Waker
    recorder: Recorder
    secret_box: SecretBox
    egress: Egress
    sinks: dict[str, Sink]
    wake_signals: WakeSignals
    metrics: MetricsPublisher
    minutes: DeliveryMinutes
    metrics_server: WSGIServer | None
    fair_share: FairShare
    bodies: BodyBudget
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def start(cls, settings: Settings, redis: ArqRedis) -> WorkerContext:
        # A worker's commits (claims, outcomes, listener state) do not wait for the disk: if
        # Postgres crashes and loses the last of them, deliveries are sent again, which
        # at-least-once allows. Waiting would put every claim and record in the queue for
        # the WAL flush ahead of the API's durable ingest commits: measured at 1,100 msg/s,
        # ingest p50 went from 14 ms without a worker to 400-1,000 ms with one.
        pool = await create_pg_pool(
            settings,
            max_size=settings.worker_db_pool_size,
            name="herald-worker",
            wait_for_disk=False,
            planner=PLANNER_SETTINGS,
        )
        await check_pool_capacity(pool, settings.worker_db_pool_size, "the worker")
        secret_box = SecretBox(settings.secret_key)
        await check_secret_key(pool, secret_box)
        egress = Egress(
            settings.egress_policy,
            connections=settings.egress_connections,
            per_host=settings.egress_connections_per_host,
        )
        sinks: dict[str, Sink] = {"webhook": webhook_sink(settings, egress)}
        if settings.kafka_bootstrap:
            from workers.sinks.kafka import KafkaSink

            sinks["kafka"] = await KafkaSink.start(settings)
        metrics = MetricsPublisher(redis)
        metrics.start()
        minutes = DeliveryMinutes(pool)
        minutes.start()
        return cls(
            settings=settings,
            pool=pool,
            redis=redis,
            waker=Waker(redis, settings.arq_queue_name),
            recorder=Recorder(pool, minutes),
            secret_box=secret_box,
            egress=egress,
            sinks=sinks,
            wake_signals=WakeSignals(redis, settings.arq_queue_name),
            metrics=metrics,
            minutes=minutes,
            metrics_server=serve_metrics(settings.host, settings.worker_metrics_port),
            fair_share=FairShare(pool, settings.worker_drains_per_org),
            bodies=BodyBudget(settings.worker_body_bytes, settings.worker_claim_bytes),
        )

    async def close(self) -> None:
        await self.wake_signals.close()
        await self.waker.close()
        await self.recorder.close()
        await self.minutes.close()
        for sink in self.sinks.values():
            await sink.close()
        await self.egress.close()
        await self.metrics.close()
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
        await self.pool.close()
