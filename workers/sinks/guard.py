"""The connect-time SSRF guard: a resolver that refuses forbidden addresses.

Checking the URL at registration is not enough: DNS can change afterwards (rebinding), so
every connection is checked on the addresses it is about to use.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from service.lib.ssrf import forbidden_reason, literal_ip


class BlockedDestination(OSError):
    """The destination resolves to an address Herald must not reach."""


class GuardedResolver(AbstractResolver):
    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = forbidden_reason(ipaddress.ip_address(result["host"]))
            if reason:
                raise BlockedDestination(f"{host} resolves to {result['host']}, {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


def literal_block_reason(host: str) -> str | None:
    """aiohttp does not resolve IP literals, so those are checked before connecting."""
    ip = literal_ip(host)
    if ip is None:
        return None
    reason = forbidden_reason(ip)
    return f"{host} is {reason}" if reason else None
