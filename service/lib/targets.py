"""An outbound URL as the HTTP client will use it, and the checks made on that host.

Registration, PATCH and the worker all parse a URL here, with yarl (aiohttp's own URL
type), so the host that is checked is the host the client connects to: UTS-46
normalised (fullwidth and other Unicode digits, ideographic dots), lower-cased, with
every numeric IPv4 spelling (2130706433, 0x7f.1, 0177.0.0.1, 127.1) read as the address
the resolver would make of it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from yarl import URL

from service.lib.ssrf import EgressPolicy, IPAddress, UnsafeTarget

RESOLVE_TIMEOUT_S = 2.0
NUMERIC_HOST_CHARS = frozenset("0123456789abcdefxABCDEFX.")


@dataclass(frozen=True)
class Target:
    url: URL  # what the HTTP client is handed: it is not parsed again
    host: str  # the ASCII host the client resolves or connects to
    address: IPAddress | None  # the host as an IP address, in whatever spelling it came


def literal_ip(host: str) -> IPAddress | None:
    """The address a host spells, including numeric forms like 2130706433 or 0x7f.1."""
    host = host.rstrip(".")  # "127.0.0.1." names the same address in most clients
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and set(host) <= NUMERIC_HOST_CHARS and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def parse_target(raw: str) -> Target:
    """The URL's target; UnsafeTarget for a URL that is malformed, not http(s), carries
    credentials, or whose host reads differently to different clients."""
    try:
        url = URL(raw)
        port = url.port
        written = urlsplit(raw).hostname or ""
    except (ValueError, TypeError) as exc:
        raise UnsafeTarget(f"not a valid URL ({exc})") from exc
    if url.scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https URLs are allowed")
    host = url.raw_host or ""
    if not host:
        raise UnsafeTarget("the URL has no host")
    if port == 0:
        raise UnsafeTarget("port 0 is not valid")
    if url.raw_user is not None or url.raw_password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed; use headers")
    if "%" in written:
        raise UnsafeTarget("a percent-encoded host is not allowed")
    address = literal_ip(host)
    if not written.isascii():
        _check_unicode_host(written, host, address)
    return Target(url, host, address)


def _check_unicode_host(written: str, host: str, address: IPAddress | None) -> None:
    """A non-ASCII host must be a name, and the same name under IDNA 2003 (Python's
    codec, many older clients) and UTS-46 (yarl, browsers)."""
    if address is not None:
        raise UnsafeTarget(
            f"the host '{written}' is written with non-ASCII characters and reads as the "
            f"IP address {address}; write addresses in ASCII digits"
        )
    try:
        idna2003 = written.encode("idna").decode("ascii").lower()
    except UnicodeError:
        idna2003 = None
    if idna2003 != host:
        raise UnsafeTarget(
            f"the host '{written}' reads differently to different clients "
            f"({idna2003 or 'invalid'} and {host}); write its xn-- form"
        )


def refusal(target: Target, policy: EgressPolicy) -> str | None:
    """Why a target written as an address may not be reached (names are checked once
    resolved, at connect time)."""
    if target.address is None:
        return None
    reason = policy.refusal(target.address)
    return f"{target.host} is {reason}" if reason else None


async def check_target(raw: str, policy: EgressPolicy) -> Target:
    """Raises UnsafeTarget for a URL Herald must not send to.

    A host name that does not resolve now is accepted: delivery checks the resolved
    addresses again at connect time, which also defeats DNS rebinding.
    """
    target = parse_target(raw)
    if target.address is not None:
        reason = refusal(target, policy)
        if reason:
            raise UnsafeTarget(reason)
        return target
    if policy.allow_private and not policy.denied:
        return target
    for address in await _resolve(target.host):
        reason = policy.refusal(address)
        if reason:
            raise UnsafeTarget(f"{target.host} resolves to {address}, {reason}")
    return target


async def _resolve(host: str) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]
