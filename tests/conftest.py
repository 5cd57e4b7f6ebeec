"""Shared fixtures: real servers, the app in-process, a fresh organization per test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from arq.worker import Worker
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.app import create_app
from service.config import Settings
from service.db.engine import create_engine, create_sessionmaker
from service.keys.repository import ApiKeyRepository
from service.keys.service import ApiKeyService
from tests import servers
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.receiver import Receiver, wait_for
from tests.stack import Stack
from workers.runner import HeraldWorker
from workers.settings import build_worker_settings


def pytest_configure(config: pytest.Config) -> None:
    servers.start_once()


def pytest_unconfigure(config: pytest.Config) -> None:
    servers.stop()


TEST_SETTINGS: dict[str, Any] = {
    "allow_private_targets": True,
    "db_pool_size": 5,
    # Each xdist process has its own arq queue, so its API wakes its own worker.
    "arq_queue_name": f"herald:test:{os.environ.get('PYTEST_XDIST_WORKER', 'main')}",
    "liveness_interval_s": 1.0,
    "liveness_failure_threshold": 2,
    "liveness_timeout_s": 1.0,
    "circuit_cooldown_s": 1.0,
    "min_retry_delay_s": 0.01,  # retries within a test's patience
    "lease_s": 30.0,
    "worker_grace_s": 2.0,
    "kafka_idempotent": False,  # Tansu rejects InitProducerId
    "worker_metrics_port": 0,  # in-process workers share the test process's counters
    # Tests send many refused requests with one key (property tests hundreds);
    # tests/test_refused_ingest.py sets its own.
    "refused_ingest_per_s": 100_000,
}


def make_settings(**overrides: Any) -> Settings:
    return Settings(**{**TEST_SETTINGS, **overrides})


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture(scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process, with its lifespan running; unauthenticated."""
    async with AsyncTestClient(app=create_app(settings), base_url="http://herald.test") as client:
        yield client


@pytest.fixture(scope="session")
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    """A real arq worker (drains, sweeper, liveness) running in the test's event loop."""
    options = {**build_worker_settings(settings), "handle_signals": False}
    worker = HeraldWorker(**options)
    task = asyncio.create_task(worker.async_run())
    yield worker
    # arq's close() re-raises the CancelledError of jobs it cancels (drains still running
    # when the session ends); those are expected here.
    with contextlib.suppress(asyncio.CancelledError):
        await worker.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.stop()


@dataclass
class Org:
    id: uuid.UUID
    key: str
    http: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.key}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def create_queue(self, name: str | None = None) -> dict[str, Any]:
        response = await self.post("/v1/queues", json={"name": name or f"q-{uuid.uuid4().hex[:8]}"})
        assert response.status_code == 200, response.text
        queue: dict[str, Any] = response.json()["queue"]
        return queue

    async def create_listener(self, queue_id: str, **fields: Any) -> dict[str, Any]:
        body = {"name": "listener", "notify_url": "http://127.0.0.1:9/hook", **fields}
        response = await self.post(f"/v1/queues/{queue_id}/listeners", json=body)
        assert response.status_code == 200, response.text
        listener: dict[str, Any] = response.json()["listener"]
        return listener


async def new_org(sessionmaker: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> Org:
    async with sessionmaker() as session, session.begin():
        org, _, key = await ApiKeyService(ApiKeyRepository(session)).create_organization("test")
    return Org(id=org.id, key=key, http=http)


@pytest.fixture
async def org(sessionmaker: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> Org:
    """A fresh organization with an admin key: tests are isolated by tenant."""
    return await new_org(sessionmaker, http)


@pytest.fixture
async def other_org(sessionmaker: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> Org:
    return await new_org(sessionmaker, http)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is problem+json with the contract's fields and the reason phrase as title."""
    from http import HTTPStatus

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] == HTTPStatus(status).phrase
    assert isinstance(body["type"], str) and isinstance(body["detail"], str)
    return body


async def wait_until_blocked(blocker: asyncpg.Connection) -> int:
    """The pid of a backend waiting on a lock `blocker` holds."""
    pids: list[int] = []

    async def blocked() -> bool:
        # pg_stat_activity is read once per transaction: a fresh read each time.
        await blocker.execute("SELECT pg_stat_clear_snapshot()")
        pid = await blocker.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        pids.extend([] if pid is None else [int(pid)])
        return bool(pids)

    await wait_for(blocked, timeout_s=10, what="an ingest statement waiting on the queue row")
    return pids[0]


@contextlib.asynccontextmanager
async def app_on_this_loop(
    settings: Settings, headers: dict[str, str], client_address: str = "127.0.0.1"
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """An app of its own and a client, both on the test's event loop (the shared test
    client runs the app on another thread and blocks this one during each request).
    `client_address`: where the requests seem to come from (limits per address count
    across every app of the run, through Redis)."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=(client_address, 40000))
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=transport, base_url="http://herald.test", headers=headers
        ) as client,
    ):
        yield app, client


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[Stack]:
    """A real Herald (API and worker processes) for the browser tests of one module."""
    stack = await Stack().start()
    yield stack
    await stack.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context's page; the test fails if any script opened a dialog."""
    context = await browser.new_context()
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    yield page
    await context.close()
    assert dialogs == [], "a script ran from a rendered value"
