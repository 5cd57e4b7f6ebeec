"""`herald dev`: embedded servers, migrations, a dev organization, the API and a worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from service.config import Settings
from service.embedded.process import spawn, stop
from service.embedded.stack import EmbeddedStack
from service.lib.secrets import new_encryption_key
from service.migrate import upgrade
from service.orgs import create_organization, key_is_valid

READY_TIMEOUT_S = 60.0

# Proxy variables would send a request for our own loopback port to the proxy.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _read_or_create(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.write_text(make)
    path.chmod(0o600)
    return make


def _dev_api_key(settings: Settings, key_file: Path) -> str:
    """The dev organization's key, created on first run and kept in the data dir."""
    if key_file.exists():
        key = key_file.read_text().strip()
        if asyncio.run(key_is_valid(settings, key)):
            return key
    _, key = asyncio.run(create_organization(settings, "dev"))
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _wait_ready(url: str, children: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                raise RuntimeError(f"a Herald process exited early ({child.args!r}); see the logs")
        try:
            with LOOPBACK.open(f"{url}/health/ready", timeout=1.0) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet, or 503 (HTTPError) while starting
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Herald was not ready within {READY_TIMEOUT_S:.0f}s")


def run_dev(port: int, data_dir: Path) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = EmbeddedStack(data_dir).start()
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        os.environ.update(
            {
                **stack.env(),
                "HERALD_SECRET_KEY": os.environ.get("HERALD_SECRET_KEY")
                or _read_or_create(data_dir / "secret.key", new_encryption_key()),
                "HERALD_ALLOW_PRIVATE_TARGETS": "true",
                "HERALD_KAFKA_IDEMPOTENT": "false",
                "HERALD_PORT": str(port),
                # A terminal reads better than JSON; set HERALD_LOG_FORMAT=json to see those.
                "HERALD_LOG_FORMAT": os.environ.get("HERALD_LOG_FORMAT", "console"),
            }
        )
        env = dict(os.environ)
        settings = Settings()
        upgrade(settings.database_url)
        api_key = _dev_api_key(settings, data_dir / "api.key")
        for name, command in (("api", "api"), ("worker", "worker")):
            children.append(
                spawn(
                    [sys.executable, "-m", "service.cli", command],
                    log_path=data_dir / f"{name}.log",
                    env=env,
                )
            )
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, children)
        print(
            f"HERALD_URL={url}\nHERALD_API_KEY={api_key}\n"
            f"HERALD_KAFKA_BOOTSTRAP={stack.kafka_bootstrap}\n"
            f"HERALD_DATABASE_URL={stack.database_url}\nHERALD_REDIS_URL={stack.redis_url}",
            flush=True,
        )
        print(f"logs: {data_dir}/*.log; Ctrl-C stops everything", file=sys.stderr, flush=True)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        return 0 if stopping else 1
    finally:
        for child in reversed(children):
            stop(child, signal.SIGTERM)
        stack.stop()
