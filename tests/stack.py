"""A Herald of its own for fault tests: its own database and Valkey, API and worker processes.

Faults (SIGKILL, FLUSHALL) hit only this stack, never the servers the other tests share.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from service.config import Settings
from service.embedded.postgres import EmbeddedPostgres
from service.embedded.process import free_port
from service.embedded.valkey import EmbeddedValkey
from service.migrate import upgrade
from service.orgs import create_organization


async def admin_sql(sql: str) -> None:
    url = make_url(Settings().database_url).set(database="postgres")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(sql))
    await engine.dispose()


class Stack:
    def __init__(self, own_postgres: bool = False, **env: str) -> None:
        """`own_postgres`: a PostgreSQL server of its own (durable), for faults that stop it;
        otherwise a database of its own on the run's shared server."""
        self.name = f"herald_stack_{uuid.uuid4().hex[:10]}"
        self.postgres = (
            EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="herald-pg-"))) if own_postgres else None
        )
        self.database_url = (
            self.postgres.url
            if self.postgres
            else make_url(Settings().database_url)
            .set(database=self.name)
            .render_as_string(hide_password=False)
        )
        self.valkey = EmbeddedValkey(Path(tempfile.mkdtemp(prefix="herald-valkey-")))
        self.port = free_port()
        self.worker_metrics_port = free_port()
        self.extra_env = env
        self.log_dir = Path(tempfile.mkdtemp(prefix="herald-stack-logs-"))
        self.api: asyncio.subprocess.Process | None = None
        self.worker: asyncio.subprocess.Process | None = None
        self.extra_processes: list[asyncio.subprocess.Process] = []
        self.key = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HERALD_DATABASE_URL": self.database_url,
            "HERALD_REDIS_URL": self.valkey.url,
            "HERALD_PORT": str(self.port),
            "HERALD_WORKER_METRICS_PORT": str(self.worker_metrics_port),
            "HERALD_ALLOW_PRIVATE_TARGETS": "true",
            "HERALD_KAFKA_IDEMPOTENT": "false",
            **self.extra_env,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Stack:
        if self.postgres:
            await asyncio.to_thread(self.postgres.start)
        else:
            await admin_sql(f"CREATE DATABASE {self.name}")
        await asyncio.to_thread(upgrade, self.database_url)
        await asyncio.to_thread(self.valkey.start)
        settings = Settings(database_url=self.database_url)
        _, self.key = await create_organization(settings, "faults")
        self.api = await self._spawn("service.cli", "api")
        await self.start_worker()
        await self.wait_ready()
        return self

    async def start_worker(self) -> None:
        self.worker = await self._spawn("workers")

    async def restart(self, **env: str) -> None:
        """Stops the API and the worker and starts them again with `env` (without waiting)."""
        await self.kill(self.worker)
        await self.kill(self.api)
        self.api = await self._spawn("service.cli", "api", **env)
        self.worker = await self._spawn("workers", **env)

    async def herald(self, *args: str, **env: str) -> tuple[int, str]:
        """Runs a `herald` command against the stack: (exit code, stdout and stderr)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service.cli",
            *args,
            env={**self.env, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode or 0, output.decode()

    async def start_second_api(self) -> str:
        """Another API process on the same servers; returns its base URL."""
        port = free_port()
        process = await self._spawn("service.cli", "api", HERALD_PORT=str(port))
        self.extra_processes.append(process)
        url = f"http://127.0.0.1:{port}"
        await self.wait_ready(url=url)
        return url

    async def start_another_worker(self) -> asyncio.subprocess.Process:
        """Another worker process on the same servers (its own metrics port)."""
        process = await self._spawn("workers", HERALD_WORKER_METRICS_PORT=str(free_port()))
        self.extra_processes.append(process)
        return process

    async def _spawn(self, *module: str, **env: str) -> asyncio.subprocess.Process:
        with (self.log_dir / f"{module[0]}.log").open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                *module,
                env={**self.env, **env},
                start_new_session=True,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    def logs(self, module: str) -> list[dict[str, Any]]:
        """The JSON log lines a process of `module` ("workers", "service.cli") wrote."""
        path = self.log_dir / f"{module}.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    async def wait_ready(self, timeout_s: float = 30.0, url: str | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with httpx.AsyncClient(base_url=url or self.url) as client:
            while loop.time() < deadline:
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("the stack's API did not become ready")

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"X-API-KEY": self.key}, timeout=10)

    async def kill(
        self, process: asyncio.subprocess.Process | None, sig: int = signal.SIGKILL
    ) -> None:
        if process is not None and process.returncode is None:
            os.killpg(process.pid, sig)
            await asyncio.wait_for(process.wait(), timeout=30)

    async def sql(self, query: str, **params: Any) -> list[Any]:
        engine = create_async_engine(self.database_url)
        async with engine.begin() as connection:
            result = await connection.execute(text(query), params)
            rows = list(result) if result.returns_rows else []
        await engine.dispose()
        return rows

    async def stop(self) -> None:
        for process in self.extra_processes:
            await self.kill(process)
        await self.kill(self.worker)
        await self.kill(self.api)
        await asyncio.to_thread(self.valkey.stop)
        if self.postgres:
            await asyncio.to_thread(self.postgres.stop)
            shutil.rmtree(self.postgres.data_dir, ignore_errors=True)
        else:
            await admin_sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        shutil.rmtree(self.valkey.data_dir, ignore_errors=True)
