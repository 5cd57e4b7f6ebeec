"""create_app(settings) -> Litestar: routes, lifespan handles on app.state, error mapping."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import structlog
from arq.connections import RedisSettings
from arq.connections import create_pool as create_arq_pool
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from redis.asyncio import Redis

from service.api_docs import openapi_config, swagger_assets
from service.auth import ApiKeyAuthentication
from service.batches.controller import BatchController
from service.config import Settings
from service.console.app import console_router, console_templates, portal_router
from service.console.sessions import ConsoleSessions
from service.db.capacity import PoolsTooLarge, api_connections, check_pool_capacity
from service.db.engine import create_engine, create_pg_pool, create_sessionmaker
from service.deliveries.controller import DeliveryController
from service.deliveries.wakeup import Waker
from service.dependencies import provide_db_session, provide_principal, provide_settings
from service.errors import EXCEPTION_HANDLERS
from service.event_types.controller import EventTypeController
from service.event_types.counts import EventTypeCounts
from service.health.controller import HealthController
from service.inlets.cache import InletCache
from service.inlets.controller import InletController, InletIngestController
from service.keys.cache import ApiKeyCache
from service.keys.controller import ApiKeyController
from service.lib.failure_limit import FailureLimit
from service.lib.gc_tuning import tune_after_startup
from service.lib.metrics import MetricsPublisher
from service.lib.ratelimit import RequestRateLimiter
from service.lib.secrets import SecretBox
from service.listeners.controller import ListenerController
from service.messages.controller import MessageController
from service.messages.ingest import IngestService
from service.messages.writer import GroupCommitWriter
from service.metrics.controller import MetricsController
from service.portal.controller import PortalSessionController
from service.portal.sessions import PortalSessions
from service.pretty import pretty_json_middleware
from service.queues.controller import QueueController
from service.request import HeraldRequest
from service.routing.cache import RoutingCache
from service.secret_keys import SecretKeyMismatch, check_secret_key
from service.stats.minutes import IngestMinutes

log = structlog.get_logger("herald.api")

API_CONTROLLERS = [
    ApiKeyController,
    QueueController,
    EventTypeController,
    ListenerController,
    MessageController,
    DeliveryController,
    BatchController,
    InletController,
    InletIngestController,
    PortalSessionController,
]
# The console and the portal authenticate with their own session cookies.
UNAUTHENTICATED_PATHS = [
    r"^/health/",
    r"^/metrics",
    r"^/schema",
    r"^(/v1)?/inlets/",
    r"^/console(/|$)",
    r"^/portal(/|$)",
]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        engine = create_engine(settings)
        redis = Redis.from_url(settings.redis_url)
        pg_pool = await create_pg_pool(settings)
        try:
            await check_pool_capacity(pg_pool, api_connections(settings), "the API")
            await check_secret_key(pg_pool, app.state.secret_box)
        except (PoolsTooLarge, SecretKeyMismatch) as exc:
            log.error(str(exc))
            raise
        export_pool = await create_pg_pool(
            settings, settings.export_pool_size, name="herald-export"
        )
        writer = GroupCommitWriter(
            pg_pool, writers=settings.ingest_writers, idempotency_ttl_s=settings.idempotency_ttl_s
        )
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.redis = redis
        app.state.pg_pool = pg_pool
        app.state.export_pool = export_pool
        arq_redis = await create_arq_pool(RedisSettings.from_dsn(settings.redis_url))
        waker = Waker(arq_redis, settings.arq_queue_name)
        app.state.waker = waker
        type_counts = EventTypeCounts(pg_pool)
        type_counts.start()
        ingest_minutes = IngestMinutes(pg_pool)
        ingest_minutes.start()
        app.state.ingest = IngestService(
            writer, settings, waker.wake, RoutingCache(pg_pool), type_counts, ingest_minutes
        )
        app.state.rate_limiter = RequestRateLimiter(settings.redis_url, settings.rate_limit_per_s)
        failed_lookups = app.state.failed_lookups = FailureLimit(
            RequestRateLimiter(settings.redis_url, settings.auth_lookups_per_s),
            "unknown-credentials",
            "More than {n} unknown credentials per second from this address",
        )
        refused_bodies = app.state.refused_ingest = FailureLimit(
            RequestRateLimiter(settings.redis_url, settings.refused_ingest_per_s),
            "refused-ingest",
            "More than {n} refused ingest requests per second with this credential; "
            "fix the requests",
        )
        app.state.api_keys = ApiKeyCache(pg_pool, redis, failed_lookups)
        app.state.inlets = InletCache(pg_pool, failed_lookups)
        app.state.console_sessions = ConsoleSessions(pg_pool)
        app.state.portal_sessions = PortalSessions(pg_pool)
        app.state.api_keys.start()
        metrics = app.state.metrics = MetricsPublisher(redis)
        metrics.start()
        tune_after_startup()
        try:
            yield
        finally:
            await metrics.close()
            await app.state.api_keys.close()
            await app.state.rate_limiter.close()
            await failed_lookups.close()
            await refused_bodies.close()
            await waker.close()
            await arq_redis.aclose()
            await writer.close()
            await type_counts.close()
            await ingest_minutes.close()
            await pg_pool.close()
            await export_pool.close()
            await redis.aclose()
            await engine.dispose()

    return Litestar(
        route_handlers=[
            HealthController,
            MetricsController,
            swagger_assets(),
            Router(path="/v1", route_handlers=API_CONTROLLERS),
            # Unversioned paths mean "latest"; hidden from the schema to avoid duplicates.
            Router(path="/", route_handlers=API_CONTROLLERS, include_in_schema=False),
            console_router(settings),
            portal_router(settings),
        ],
        template_config=console_templates(),
        lifespan=[lifespan],
        state=_initial_state(settings),
        dependencies={
            "db_session": Provide(provide_db_session),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        middleware=[
            pretty_json_middleware,
            DefineMiddleware(ApiKeyAuthentication, exclude=UNAUTHENTICATED_PATHS),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=HeraldRequest,
        logging_config=None,  # service/lib/logs.py configures logging for the process
        openapi_config=openapi_config(),
    )


def _initial_state(settings: Settings) -> State:
    return State({"settings": settings, "secret_box": SecretBox(settings.secret_key)})
