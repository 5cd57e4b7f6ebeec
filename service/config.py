"""One typed Settings object, read from HERALD_* environment variables once per process."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.lib.ssrf import EgressPolicy

DEFAULT_RETRY_SCHEDULE_S = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)


class Settings(BaseSettings):
    """Every knob Herald reads. Built once at process start and passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", frozen=True)

    database_url: str = "postgresql+asyncpg://herald@127.0.0.1:5432/herald"
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap: str | None = None
    kafka_idempotent: bool = True

    # Fernet key (urlsafe base64, 32 bytes) that encrypts listener secrets at rest.
    secret_key: str = ""

    host: str = "127.0.0.1"
    port: int = 8080
    api_workers: int = 1
    public_url: str = ""

    allow_private_targets: bool = False
    # Networks no outbound request may reach, private targets allowed or not (JSON list).
    egress_deny_cidrs: tuple[IPvAnyNetwork, ...] = ()
    rate_limit_per_s: int = 1000
    # API key and inlet token lookups that miss the cache, per client address and second.
    auth_lookups_per_s: int = 50
    # Ingest requests refused (400, 413, 415, 422) per API key or inlet and second; past
    # it the credential's next ingest request gets 429 before its body is read.
    refused_ingest_per_s: int = Field(default=10, ge=1)
    # When set, GET /metrics needs `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None
    # What one organization may create (409 quota-exceeded past them).
    quota_queues: int = 1000
    quota_listeners_per_queue: int = 100
    quota_inlets_per_queue: int = 100
    quota_api_keys: int = 100

    max_message_bytes: int = 1024 * 1024
    max_request_bytes: int = 5 * 1024 * 1024
    max_messages_per_request: int = 10_000
    # Request bytes one API process holds in ingest at once (503 with Retry-After past it).
    ingest_bytes_in_flight: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    idempotency_ttl_s: int = 24 * 3600
    # What one replay request may start again: a window this long, this many messages.
    # Who may frame the tenant portal (a CSP frame-ancestors source list), e.g.
    # "https://app.example.com"; "'none'" forbids framing.
    portal_frame_ancestors: str = "'none'"
    replay_max_window_s: float = Field(default=31 * 24 * 3600, gt=0)
    replay_max_messages: int = Field(default=100_000, ge=1)
    # How long messages, attempts and batches are kept when a queue sets no retention_days.
    retention_days: int = 30

    liveness_interval_s: float = 30.0
    liveness_timeout_s: float = 5.0
    liveness_failure_threshold: int = 3
    disable_after_failing_s: float = 5 * 24 * 3600
    secret_rotation_overlap_s: float = 24 * 3600

    default_timeout_ms: int = 15_000
    default_max_attempts: int = 10
    default_max_in_flight: int = 16
    retry_schedule_s: tuple[float, ...] = Field(default=DEFAULT_RETRY_SCHEDULE_S)
    # The shortest delay a listener's retry_schedule_s may ask for: with max_attempts, it
    # bounds how fast one message can turn into requests at a failing receiver.
    min_retry_delay_s: float = 1.0

    arq_queue_name: str = "arq:queue"
    # How long a claim outlives its attempt's timeout (and its wait for rate-limit tokens):
    # a dead worker's deliveries go out again this long after their attempts would have ended.
    lease_s: float = 30.0
    circuit_failure_threshold: int = 5
    circuit_cooldown_s: float = 30.0
    worker_max_jobs: int = 200
    # A drain with work left gives its job slot back after this long (and queues again).
    drain_slice_s: float = Field(default=10.0, gt=0)
    # Drains one organization may run at once in a worker process; the rest wait queued.
    worker_drains_per_org: int = Field(default=100, ge=1)
    # Message bodies a worker process holds in claimed deliveries not yet sent, and one
    # claim's share of them: what bounds a worker's memory, whatever bodies arrive.
    worker_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    worker_claim_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024)
    # Sockets the egress keeps open at once, in all and to one host (:port); a drain never
    # has more sends under way than the second.
    egress_connections: int = Field(default=1024, ge=1)
    egress_connections_per_host: int = Field(default=256, ge=1)
    # The webhook sink's HTTP client: reqwest (pyreqwest: Rust, pinned clients), or aiohttp.
    egress_client: Literal["reqwest", "aiohttp"] = "reqwest"
    worker_grace_s: float = 10.0
    worker_db_pool_size: int = 20
    # Each worker process serves its own counters here (GET /metrics); 0 turns it off.
    worker_metrics_port: int = 9464
    db_pool_size: int = 20
    # How long a request waits for one of them before it answers 503.
    db_pool_timeout_s: float = 5.0
    # Connections per API process for batch downloads and the /metrics gauges, apart from
    # ingest's: slow readers of downloads never hold a connection ingest needs.
    export_pool_size: int = 4
    # Concurrent group-commit transactions per API process.
    ingest_writers: int = 4
    log_level: str = "INFO"
    # "json" (one object per line) or "console" (human-readable, for a terminal).
    log_format: str = "json"

    @cached_property
    def egress_policy(self) -> EgressPolicy:
        return EgressPolicy(self.allow_private_targets, tuple(self.egress_deny_cidrs))
