"""What every scenario needs: the embedded servers, Herald's processes pinned to the server
core, a receiver and baselines, organizations and listeners, and the run's scale.

Herald's API and worker and the delivery baselines run on core 0; the load generator, the
receiver and the embedded Postgres, Valkey and Tansu (children of the bench process, which
pins itself to core 1) on core 1, when the machine has two cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.memory import PeakMemory
from service.config import Settings
from service.embedded.process import free_port
from service.embedded.stack import EmbeddedStack
from service.lib.ids import new_id
from service.lib.secrets import new_encryption_key
from service.migrate import upgrade
from service.orgs import create_organization

SERVER_CORE, LOAD_CORE = "0", "1"
SCALES = ("smoke", "quick", "full")


def pin(core: str) -> list[str]:
    return ["taskset", "-c", core] if (os.cpu_count() or 1) >= 2 else []


class Bench:
    def __init__(self, scale: str) -> None:
        assert scale in SCALES
        self.scale = scale
        self.seconds = self.pick(full=8.0, quick=3.0, smoke=0.5)
        self.data = Path(tempfile.mkdtemp(prefix="herald-bench-"))
        self.stack = EmbeddedStack(self.data).start()
        self.env = {
            **os.environ,
            **self.stack.env(),
            "HERALD_SECRET_KEY": new_encryption_key(),
            "HERALD_ALLOW_PRIVATE_TARGETS": "true",
            "HERALD_KAFKA_IDEMPOTENT": "false",
            "HERALD_RATE_LIMIT_PER_S": "1000000",
        }
        os.environ.update(self.env)
        upgrade(self.stack.database_url)
        self.settings = Settings()
        self.processes: list[asyncio.subprocess.Process] = []
        self.memory = PeakMemory()
        # Figures other scenarios compare against (e.g. deliver-1's rate), by scenario.
        self.seen: dict[str, list[float]] = {}

    def pick(self, *, full: Any, quick: Any, smoke: Any) -> Any:
        return {"full": full, "quick": quick, "smoke": smoke}[self.scale]

    @property
    def dsn(self) -> str:
        return self.stack.database_url.replace("postgresql+asyncpg", "postgresql")

    async def spawn(
        self,
        *args: str,
        core: str = SERVER_CORE,
        role: str | None = None,
        log_path: Path | None = None,
        **env: str,
    ) -> asyncio.subprocess.Process:
        with open(log_path or os.devnull, "ab") as log:  # noqa: ASYNC230 (a local file, once)
            process = await asyncio.create_subprocess_exec(
                *pin(core),
                *args,
                env={**self.env, **env},
                start_new_session=True,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        self.processes.append(process)
        if role:
            self.memory.watch(process.pid, role)
        return process

    async def stop(self, *processes: asyncio.subprocess.Process) -> None:
        for process in processes:
            if process.returncode is None:
                _signal_group(process, signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), timeout=30)
                except TimeoutError:
                    _signal_group(process, signal.SIGKILL)
                    await process.wait()

    def freeze(self, *processes: asyncio.subprocess.Process) -> None:
        """Stops them where they are (SIGSTOP, their children too): they use no CPU until
        thawed, and nothing of theirs times out in a few seconds (drain locks last 10 s,
        leases 60 s)."""
        for process in processes:
            _signal_group(process, signal.SIGSTOP)

    def thaw(self, *processes: asyncio.subprocess.Process) -> None:
        for process in processes:
            _signal_group(process, signal.SIGCONT)

    async def close(self) -> None:
        await self.memory.close()
        for process in self.processes:
            _signal_group(process, signal.SIGKILL)  # children too (granian's workers)
        self.stack.stop()
        shutil.rmtree(self.data, ignore_errors=True)  # a full run leaves gigabytes

    async def settle(self, dsn: str | None = None, timeout_s: float = 300.0) -> float:
        """Vacuums, analyzes and checkpoints the database, then waits until no autovacuum
        runs; returns the seconds it took. Every run of every scenario starts here, so that the
        maintenance the last one left behind (a million ingested rows to vacuum, their WAL
        to checkpoint) does not fall on the next one's Herald runs, on the core Postgres
        shares with the receiver, and never on its baselines, which do not use Postgres.
        Measured in make-bench order, deliver-1 right after ingest-batch: 0.52 without this
        and 0.66 with it (5 runs each); the worker was 79-91 % busy without it. `dsn`: a
        database other than the bench's own (the backlog scenario's)."""
        started = time.perf_counter()
        connection = await asyncpg.connect(dsn or self.dsn)
        try:
            await connection.execute("VACUUM (ANALYZE)")
            await connection.execute("CHECKPOINT")
            deadline = time.monotonic() + timeout_s
            while await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"autovacuum still running after {timeout_s}s")
                await asyncio.sleep(0.2)
        finally:
            await connection.close()
        return time.perf_counter() - started

    async def wait_http(self, url: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(url) as response:
                        if response.status < 500:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{url} did not answer")

    async def api(
        self, log_path: Path | None = None, **env: str
    ) -> tuple[asyncio.subprocess.Process, str]:
        port = free_port()
        process = await self.spawn(
            sys.executable, "-m", "service.cli", "api",
            role="api", log_path=log_path, HERALD_PORT=str(port), **env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        await self.wait_http(f"{url}/health/live")
        return process, url

    async def worker(self, log_path: Path | None = None, **env: str) -> asyncio.subprocess.Process:
        """A worker process, returned once it serves its metrics (its clients are up)."""
        port = free_port()
        process = await self.spawn(
            sys.executable, "-m", "workers", role="worker", log_path=log_path,
            HERALD_WORKER_METRICS_PORT=str(port), **env,
        )  # fmt: skip
        await self.wait_http(f"http://127.0.0.1:{port}/metrics")
        return process

    async def receiver(self) -> tuple[asyncio.subprocess.Process, str]:
        port = free_port()
        process = await self.spawn(
            sys.executable, "-m", "bench.receiver", str(port), core=LOAD_CORE
        )
        url = f"http://127.0.0.1:{port}"
        await self.wait_http(f"{url}/stats")
        return process, url

    async def baseline(self, *args: str) -> float:
        """A bench.baselines run on the server core (where Herald's worker would be)."""
        process = await asyncio.create_subprocess_exec(
            *pin(SERVER_CORE),
            sys.executable,
            "-m",
            "bench.baselines",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
        if process.returncode != 0:
            raise RuntimeError(f"baseline {args[0]} failed ({process.returncode})")
        return float(out.decode().strip().splitlines()[-1])

    async def org(self, url: str, settings: Settings | None = None) -> tuple[dict[str, str], str]:
        """A new organization's API key headers and a queue of its own."""
        _, key = await create_organization(settings or self.settings, "bench")
        headers = {"X-API-KEY": key}
        return headers, await self.queue(url, headers)

    async def queue(self, url: str, headers: dict[str, str]) -> str:
        async with (
            aiohttp.ClientSession(base_url=url, headers=headers) as session,
            session.post("/v1/queues", json={"name": f"q-{new_id()}"}) as response,
        ):
            queue_id: str = (await response.json())["queue"]["id"]
            return queue_id

    async def listener(
        self, url: str, headers: dict[str, str], queue_id: str, **fields: Any
    ) -> str:
        body = {"name": f"l-{new_id().hex[:8]}", **fields}
        async with (
            aiohttp.ClientSession(base_url=url, headers=headers) as session,
            session.post(f"/v1/queues/{queue_id}/listeners", json=body) as response,
        ):
            assert response.status == 200, await response.text()
            listener_id: str = (await response.json())["listener"]["id"]
            return listener_id

    async def enable(
        self, url: str, headers: dict[str, str], queue_id: str, *ids: str, enabled: bool = True
    ) -> None:
        """Lets paused listeners go: their held backlog starts flowing from here. With
        `enabled=False`, pauses them: a scenario leaves nothing for later scenarios'
        workers to send (isolation leaves a backlog behind a listener that never answers;
        deleting its queue instead made the next scenario's worker purge 20,000 rows)."""
        async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
            for listener_id in ids:
                path = f"/v1/queues/{queue_id}/listeners/{listener_id}"
                async with session.patch(path, json={"enabled": enabled}) as response:
                    assert response.status == 200, await response.text()

    async def ingest_ndjson(
        self, url: str, headers: dict[str, str], queue_id: str, lines: list[bytes]
    ) -> None:
        """Stores `lines` as messages, 5,000 per request."""
        async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
            for start in range(0, len(lines), 5000):
                async with session.post(
                    f"/v1/queues/{queue_id}/messages",
                    data=b"\n".join(lines[start : start + 5000]),
                    headers={"content-type": "application/x-ndjson"},
                ) as response:
                    assert response.status == 202, await response.text()


def _signal_group(process: asyncio.subprocess.Process, sig: int) -> None:
    """Each process starts its own session: signal it with everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


async def receiver_stats(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/stats") as response:
        stats: dict[str, Any] = await response.json()
        return stats


async def reset_receiver(url: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(f"{url}/reset") as response:
        await response.read()


async def wait_received(url: str, count: int, timeout_s: float) -> int:
    """Polls the receiver's count every 20 ms over one connection (a session per poll cost
    the core the receiver and Postgres share about 5 % during Herald's runs)."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{url}/stats") as response:
                got = (await response.json())["count"]
            if got >= count:
                return int(got)
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {got} of {count} delivered in {timeout_s}s")
            await asyncio.sleep(0.02)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def combine(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median (min-max) of each run's value, baseline and ratio."""
    values = [s["value"] for s in samples]
    combined = {**samples[0], "value": statistics.median(values), "runs": summary(values)}
    if samples[0].get("baseline") is not None:
        baselines = [s["baseline"] for s in samples]
        combined["baseline"] = statistics.median(baselines)
        combined["baseline_runs"] = summary(baselines)
        combined["ratio"] = statistics.median(s["value"] / s["baseline"] for s in samples)
    if samples[0].get("reqwest_baseline") is not None:  # deliver-1's second raw loop
        combined["reqwest_baseline"] = statistics.median(s["reqwest_baseline"] for s in samples)
        combined["reqwest_ratio"] = statistics.median(
            s["value"] / s["reqwest_baseline"] for s in samples
        )
    return combined


def met(result: dict[str, Any]) -> bool:
    if result.get("target") is None:  # figures only
        return True
    if result.get("baseline") is None:
        return bool(result["value"] <= result["target"])
    ok = result["ratio"] >= result["target"]
    if "absolute_target" in result:
        ok = ok and result["value"] >= result["absolute_target"]
    return bool(ok)


def format_row(name: str, result: dict[str, Any]) -> str:
    runs = result["runs"]
    text = f"{name:16} {result['value']:>10.1f} {result['unit']}"
    text += f" (min {runs['min']:.1f}, max {runs['max']:.1f})"
    if result.get("target") is None:
        if result.get("baseline") is not None:
            text += f"  baseline {result['baseline']:.1f}  ratio {result['ratio']:.2f}"
        return text + "  (figures only)"
    if result.get("baseline") is not None:
        text += f"  baseline {result['baseline']:.1f}  ratio {result['ratio']:.2f}"
        text += f" (target {result['target']})"
    else:
        text += f"  target <= {result['target']}"
    text += "  met" if met(result) else "  NOT MET"
    if "reqwest_baseline" in result:
        text += f"\n{'':16} raw pyreqwest loop {result['reqwest_baseline']:.1f}"
        text += f"  ratio {result['reqwest_ratio']:.2f}"
    return text
