"""The `herald` command: dev on its own embedded servers, orgs create, migrate."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from service.embedded.process import free_port

DEV_READY_S = 60.0
HERALD = [sys.executable, "-m", "service.cli"]


class DevServer:
    """`herald dev` in a child process with its stdout read line by line."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        self.process = subprocess.Popen(
            [*HERALD, "dev", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def wait_for_ready(self) -> dict[str, str]:
        printed: dict[str, str] = {}
        deadline = time.monotonic() + DEV_READY_S
        while "HERALD_REDIS_URL" not in printed:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"herald dev printed only {printed} in {DEV_READY_S}s"
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            name, _, value = line.partition("=")
            printed[name] = value
        return printed

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, sig: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=30)


def _wait_all_gone(
    processes: list[psutil.Process], timeout_s: float = 20.0
) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout_s)
    return alive


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_dev_prints_its_lines_serves_the_api_and_leaves_nothing_running(
    tmp_path: Path, sig: int
) -> None:
    dev = DevServer(tmp_path / "data", free_port())
    try:
        started = time.monotonic()
        printed = dev.wait_for_ready()
        ready_s = time.monotonic() - started
        assert ready_s < DEV_READY_S
        assert printed["HERALD_URL"].startswith("http://127.0.0.1:")
        assert printed["HERALD_API_KEY"].startswith("hrld_")
        assert printed["HERALD_KAFKA_BOOTSTRAP"].startswith("127.0.0.1:")
        headers = {"X-API-KEY": printed["HERALD_API_KEY"]}
        with httpx.Client(base_url=printed["HERALD_URL"], headers=headers, timeout=10) as client:
            queue_id = client.post("/v1/queues", json={"name": "dev"}).json()["queue"]["id"]
            created = client.post(
                f"/v1/queues/{queue_id}/listeners",
                json={"name": "local", "notify_url": "http://127.0.0.1:9999/hook"},
            )
            assert created.status_code == 200
            listener = created.json()["listener"]
            assert created.json()["_links"]["self"]["href"] == (
                f"/v1/queues/{queue_id}/listeners/{listener['id']}"
            )
        children = dev.descendants()
        assert len(children) >= 4  # postgres, valkey, tansu, api, worker (and their children)
    finally:
        dev.stop(sig)
    assert _wait_all_gone(children) == []


def test_dev_keeps_its_organization_and_key_across_restarts(tmp_path: Path) -> None:
    keys = []
    for _ in range(2):
        dev = DevServer(tmp_path / "data", free_port())
        try:
            keys.append(dev.wait_for_ready()["HERALD_API_KEY"])
        finally:
            dev.stop(signal.SIGTERM)
    assert keys[0] == keys[1]


async def test_orgs_create_prints_an_id_and_a_working_key(
    shared_servers: None, http: httpx.AsyncClient
) -> None:
    process = await asyncio.create_subprocess_exec(
        *HERALD, "orgs", "create", "acme", stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    printed = dict(line.split("=", 1) for line in stdout.decode().strip().splitlines())
    assert set(printed) == {"HERALD_ORG_ID", "HERALD_API_KEY"}
    response = await http.get("/v1/queues", headers={"X-API-KEY": printed["HERALD_API_KEY"]})
    assert response.status_code == 200


def test_migrate_is_idempotent(shared_servers: None) -> None:
    result = subprocess.run([*HERALD, "migrate"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "migrated to head" in result.stdout


@pytest.fixture
def shared_servers() -> None:
    """The CLI runs against the test servers named by the HERALD_* variables."""
    assert os.environ.get("HERALD_DATABASE_URL")


def test_an_everyday_verb_without_the_client_package_says_what_to_install() -> None:
    """A server installed without herald-client: `herald queues ls` explains, no traceback."""
    code = (
        "import sys; sys.modules['herald_client'] = None; "  # as if it were not installed
        "from service.cli import main; main(['queues', 'ls'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1 and "pip install ./clients/python" in done.stderr
    assert "Traceback" not in done.stderr
