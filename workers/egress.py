"""The one way out: every outbound HTTP request (webhooks, liveness probes) goes through
one aiohttp session whose every connection is checked against the egress policy.

Checking a URL at registration is not enough: DNS can change afterwards (rebinding), and
aiohttp connects to IP literals without asking the resolver. So the resolver refuses a
name with a forbidden address, and the socket factory refuses every address a socket is
about to connect to, however it was found. Redirects are never followed, proxy
variables are ignored, nothing is decompressed and cookies are never kept.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Callable

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from service.lib.metrics import SSRF_REFUSALS
from service.lib.ssrf import EgressPolicy
from service.lib.targets import Target, refusal
from service.lib.webhook_headers import USER_AGENT

PROBE_HEADERS = {"user-agent": USER_AGENT, "accept-encoding": "identity"}


class BlockedDestination(OSError):
    """The destination is, or resolves to, an address Herald must not reach."""

    def __init__(self, detail: str) -> None:
        super().__init__(errno.EACCES, detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class GuardedResolver(AbstractResolver):
    """Resolves with `inner`, refusing a name if any of its addresses is forbidden."""

    def __init__(self, policy: EgressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = self.policy.refusal(ipaddress.ip_address(result["host"]))
            if reason:
                raise BlockedDestination(f"{host} resolves to {result['host']}, {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(policy: EgressPolicy) -> Callable[[AddrInfoType], socket.socket]:
    """A socket for an address the policy allows; BlockedDestination for any other."""

    def create(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = ipaddress.ip_address(str(sockaddr[0]))
        reason = policy.refusal(address)
        if reason:
            raise BlockedDestination(f"{address} is {reason}")
        return socket.socket(family=family, type=type_, proto=proto)

    return create


def connect_failure(exc: aiohttp.ClientConnectorError) -> str:
    """The attempt log's words for a connection that was not made."""
    if isinstance(exc.os_error, BlockedDestination):
        SSRF_REFUSALS.labels("connect").inc()
        return f"blocked: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"dns: could not resolve {exc.host}"
    return f"connection failed: {exc.os_error}"


class Egress:
    """The guarded session, shared by the webhook sink and the liveness probes."""

    def __init__(self, policy: EgressPolicy, *, connections: int, per_host: int) -> None:
        self.policy = policy
        self.per_host = per_host
        connector = aiohttp.TCPConnector(
            limit=connections,
            limit_per_host=per_host,
            ttl_dns_cache=10,
            resolver=GuardedResolver(policy),
            socket_factory=guarded_socket_factory(policy),
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            # No aiohttp timers (its default is a 5-minute total per request, one more timer
            # per request): each caller runs its request under one deadline of its own.
            timeout=aiohttp.ClientTimeout(),
            trust_env=False,
            auto_decompress=False,
            # A receiver's cookies are never sent back (nor to another listener on its host).
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def refusal(self, target: Target) -> str | None:
        """Why `target` may not be reached, when its host is an address (no socket needed)."""
        reason = refusal(target, self.policy)
        if reason:
            SSRF_REFUSALS.labels("connect").inc()
        return reason

    async def probe(self, target: Target, timeout_s: float) -> str | None:
        """GET within one total deadline: None when the answer is a 2xx, else why not.
        The body is never read (nor decompressed)."""
        reason = self.refusal(target)
        if reason:
            return f"blocked: {reason}"
        try:
            async with asyncio.timeout(timeout_s):
                async with self.session.get(
                    target.url, headers=PROBE_HEADERS, allow_redirects=False
                ) as response:
                    status = response.status
                    response.close()  # the body is not wanted, nor the connection kept
        except TimeoutError:
            return f"timeout after {int(timeout_s * 1000)} ms"
        except aiohttp.ClientConnectorError as exc:
            return connect_failure(exc)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if 200 <= status < 300 else f"status {status}"

    async def close(self) -> None:
        await self.session.close()
