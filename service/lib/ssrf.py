"""SSRF guard: which destination addresses Herald refuses to send to, and URL checks.

`ipaddress.is_global` alone misses NAT64 and 6to4 wrappers around private IPv4 addresses,
cloud metadata addresses that are globally routable (Azure's 168.63.129.16) and multicast,
so each of those is checked explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "168.63.129.16", "100.100.100.200", "192.0.0.192")
)
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
RESOLVE_TIMEOUT_S = 2.0


class UnsafeTarget(ValueError):
    """The URL is malformed or points at an address Herald refuses to reach."""


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why `ip` may not be a delivery target, or None when it is a public unicast address."""
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"{reason} (embedded in an IPv6 address)" if reason else None
        if ip.teredo is not None:
            return "a Teredo tunnel address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "the unspecified address"
    if not ip.is_global:
        return "a private or reserved address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def literal_ip(host: str) -> IPAddress | None:
    """The address a host spells, including numeric forms like 2130706433 or 0x7f.1."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def parse_target(url: str) -> SplitResult:
    """Syntax checks: http(s), a host, a valid port, no credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if port == 0:
        raise UnsafeTarget("port 0 is not valid")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed; use headers")
    return parts


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raises UnsafeTarget for a URL Herald must not send to.

    A host name that does not resolve now is accepted: delivery checks the resolved
    addresses again at connect time, which also defeats DNS rebinding.
    """
    parts = parse_target(url)
    if allow_private:
        return
    host = parts.hostname or ""
    ip = literal_ip(host)
    addresses: list[IPAddress] = [ip] if ip is not None else await _resolve(host)
    for address in addresses:
        reason = forbidden_reason(address)
        if reason:
            raise UnsafeTarget(f"{host} resolves to {address}, {reason}")


async def _resolve(host: str) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]
