"""The three backing servers together, each replaced by an existing one when its URL is set."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from service.embedded.kafka import EmbeddedKafka
from service.embedded.postgres import EmbeddedPostgres
from service.embedded.valkey import EmbeddedValkey


@dataclass
class EmbeddedStack:
    data_dir: Path
    durable: bool = True
    database_url: str = ""
    redis_url: str = ""
    kafka_bootstrap: str = ""
    _started: list[EmbeddedPostgres | EmbeddedValkey | EmbeddedKafka] = field(default_factory=list)

    def start(self) -> EmbeddedStack:
        """Honours HERALD_DATABASE_URL, HERALD_REDIS_URL and HERALD_KAFKA_BOOTSTRAP when set."""
        try:
            self.database_url = os.environ.get("HERALD_DATABASE_URL") or self._start_postgres()
            self.redis_url = os.environ.get("HERALD_REDIS_URL") or self._start_valkey()
            self.kafka_bootstrap = os.environ.get("HERALD_KAFKA_BOOTSTRAP") or self._start_kafka()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_postgres(self) -> str:
        server = EmbeddedPostgres(self.data_dir / "postgres", durable=self.durable)
        self._started.append(server)
        return server.start()

    def _start_valkey(self) -> str:
        server = EmbeddedValkey(self.data_dir / "valkey")
        self._started.append(server)
        return server.start()

    def _start_kafka(self) -> str:
        server = EmbeddedKafka(self.data_dir / "kafka")
        self._started.append(server)
        return server.start()

    def env(self) -> dict[str, str]:
        return {
            "HERALD_DATABASE_URL": self.database_url,
            "HERALD_REDIS_URL": self.redis_url,
            "HERALD_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
        }

    def stop(self) -> None:
        for server in reversed(self._started):
            server.stop()
        self._started.clear()
