"""The egress's connect-time SSRF guard, with a resolver that lies (DNS rebinding), for
both webhook clients: aiohttp's guarded connector and reqwest's pinned clients."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from service.lib.ssrf import EgressPolicy
from tests.receiver import Receiver
from tests.tls import make_authority
from workers.claims import ClaimedDelivery
from workers.egress import Egress, GuardedResolver
from workers.egress_pinned import PinnedClients
from workers.listeners import ListenerConfig
from workers.sinks.http import HttpSink
from workers.sinks.reqwest_http import ReqwestSink


class FixedResolver(AbstractResolver):
    """Answers every name with one address, as a rebinding attacker's DNS would."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": self.address,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


class FailingResolver(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        pass


def listener(url: str) -> ListenerConfig:
    return ListenerConfig(
        id=uuid.uuid4(),
        queue_id=uuid.uuid4(),
        type="webhook",
        notify_url=url,
        liveness_url=None,
        kafka_topic=None,
        kafka_key=None,
        headers={},
        timeout_s=2.0,
        max_attempts=3,
        retry_schedule_s=[1.0],
        ordered=False,
        max_in_flight=1,
        rate_limit_per_s=None,
        status="active",
        health_state="unknown",
        secrets=["whsec_" + "A" * 44],
        failing_since=None,
        delivery_failures=0,
        circuit_open_until=None,
        deleted=False,
        loaded_at=datetime.now(UTC),
    )


def delivery() -> ClaimedDelivery:
    return ClaimedDelivery(
        message_id=uuid.uuid4(),
        queue_id=uuid.uuid4(),
        attempt=1,
        retry_base=0,
        content_type="text/plain",
        body=b"hi",
        original_headers=None,
    )


Sink = HttpSink | ReqwestSink


@pytest.fixture(params=["aiohttp", "reqwest"])
def client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def sink_with(client: str, policy: EgressPolicy, inner: AbstractResolver | None = None) -> Sink:
    egress = Egress(policy, connections=100, per_host=10)
    if client == "reqwest":
        return ReqwestSink(egress, PinnedClients(GuardedResolver(policy, inner), per_host=10))
    sink = HttpSink(egress)
    if inner is not None:
        sink.session.connector._resolver = GuardedResolver(policy, inner)  # type: ignore[union-attr]
    return sink


def guarded_sink(client: str, inner: AbstractResolver) -> Sink:
    return sink_with(client, EgressPolicy(), inner)


async def close(sink: Sink) -> None:
    await sink.close()
    await sink.egress.close()


async def test_a_name_that_rebinds_to_loopback_is_blocked_at_connect_time(
    receiver: Receiver, client: str
) -> None:
    sink = guarded_sink(client, FixedResolver("127.0.0.1"))
    try:
        result = await sink.send(listener(f"http://innocent.example:{receiver.port}/x"), delivery())
    finally:
        await close(sink)
    assert result.outcome.error is not None and result.outcome.error.startswith("blocked:")
    assert receiver.received == []


async def test_metadata_address_is_blocked_and_dns_failure_is_told_apart(client: str) -> None:
    blocked = guarded_sink(client, FixedResolver("169.254.169.254"))
    missing = guarded_sink(client, FailingResolver())
    try:
        refused = await blocked.send(listener("http://metadata.example/latest"), delivery())
        unknown = await missing.send(listener("http://no-such-host.example/"), delivery())
    finally:
        await close(blocked)
        await close(missing)
    assert refused.outcome.error is not None and "metadata" in refused.outcome.error
    assert unknown.outcome.error is not None and unknown.outcome.error.startswith("dns:")


async def test_literal_private_addresses_are_blocked_without_connecting(
    receiver: Receiver, client: str
) -> None:
    sink = sink_with(client, EgressPolicy())
    try:
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1"):
            result = await sink.send(listener(f"http://{host}:{receiver.port}/x"), delivery())
            assert result.outcome.error is not None and result.outcome.error.startswith(
                "blocked:"
            ), host
    finally:
        await close(sink)
    assert receiver.received == []


async def test_a_redirect_to_an_internal_address_is_not_followed(
    receiver: Receiver, client: str
) -> None:
    from aiohttp import web

    async def redirect(_: web.Request, __: int) -> web.StreamResponse:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data")

    receiver.on("r", redirect)
    sink = sink_with(client, EgressPolicy(allow_private=True))
    try:
        result = await sink.send(listener(receiver.url("r")), delivery())
    finally:
        await close(sink)
    assert result.outcome.status_code == 302 and not result.outcome.succeeded
    assert len(receiver.received) == 1


async def test_every_socket_is_checked_even_where_no_check_ran_before(receiver: Receiver) -> None:
    from aiohttp import ClientConnectorError

    from workers.egress import BlockedDestination

    egress = Egress(EgressPolicy(), connections=100, per_host=10)
    try:
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]", "localhost"):
            with pytest.raises(ClientConnectorError) as raised:
                await egress.session.post(f"http://{host}:{receiver.port}/x", data=b"x")
            assert isinstance(raised.value.os_error, BlockedDestination), host
    finally:
        await egress.close()
    assert receiver.received == []


async def test_networks_the_operator_refuses_are_refused_with_private_targets_allowed(
    receiver: Receiver, client: str
) -> None:
    policy = EgressPolicy(allow_private=True, denied=(ip_network("127.0.0.0/8"),))
    sink = sink_with(client, policy)
    try:
        for host in ("127.0.0.1", "localhost"):
            result = await sink.send(listener(f"http://{host}:{receiver.port}/x"), delivery())
            error = result.outcome.error or ""
            assert error.startswith("blocked:") and "127.0.0.0/8" in error, error
    finally:
        await close(sink)
    assert receiver.received == []


async def test_reqwest_connects_only_to_the_address_the_guard_checked(
    receiver: Receiver,
) -> None:
    """A pinned client goes to the checked address for its name: no DNS of its own (the
    name below exists nowhere else)."""
    policy = EgressPolicy(allow_private=True)
    sink = sink_with("reqwest", policy, FixedResolver("127.0.0.1"))
    try:
        result = await sink.send(listener(f"http://pinned.invalid:{receiver.port}/p"), delivery())
    finally:
        await close(sink)
    assert result.outcome.status_code == 200, result.outcome
    assert receiver.at("p")[0].headers["host"] == f"pinned.invalid:{receiver.port}"


async def test_a_receiver_whose_certificate_is_not_trusted_gets_nothing(
    tmp_path: Path, client: str
) -> None:
    receiver = await Receiver(tls=make_authority(tmp_path).server).start()
    sink = sink_with(client, EgressPolicy(allow_private=True))
    try:
        result = await sink.send(listener(receiver.url("t", host="localhost")), delivery())
    finally:
        await close(sink)
        await receiver.stop()
    error = result.outcome.error or ""
    assert "certificate" in error.lower(), result.outcome
    assert receiver.received == []


async def test_reqwest_trusts_the_authorities_in_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As aiohttp's OpenSSL does when the worker starts: an operator's private CA works."""
    authority = make_authority(tmp_path)
    receiver = await Receiver(tls=authority.server).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    sink = sink_with("reqwest", EgressPolicy(allow_private=True))
    try:
        result = await sink.send(listener(receiver.url("t", host="localhost")), delivery())
    finally:
        await close(sink)
        await receiver.stop()
    assert result.outcome.status_code == 200, result.outcome
    assert len(receiver.at("t")) == 1
