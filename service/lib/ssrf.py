"""Which destination addresses Herald refuses to send to (the egress policy).

`ipaddress.is_global` alone misses IPv6 forms that carry an IPv4 address (mapped,
IPv4-compatible, IPv4-translated, 6to4, NAT64 with any RFC 6052 prefix length), site-local
addresses, cloud metadata addresses that are globally routable (Azure's 168.63.129.16) and
multicast, so each of those is checked explicitly. Operators add their own networks
(`HERALD_EGRESS_DENY_CIDRS`: a VPC, their own NAT64 prefix), refused even where private
targets are allowed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "168.63.129.16", "100.100.100.200", "192.0.0.192")
)
WELL_KNOWN_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_USE_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# RFC 6052 prefix lengths a NAT64 prefix inside the local-use /48 can have.
LOCAL_USE_NAT64_LENGTHS = (48, 56, 64, 96)
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated by RFC 4291
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)


class UnsafeTarget(ValueError):
    """The URL is malformed or points at an address Herald refuses to reach."""


def rfc6052_ipv4(ip: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address embedded in `ip` under a NAT64 prefix of `prefix_length` bits
    (32, 40, 48, 56, 64 or 96): the 32 bits after the prefix, skipping bits 64-71."""
    value = int(ip)
    if prefix_length == 96:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    without_u = ((value >> 64) << 56) | (value & ((1 << 56) - 1))  # 120 bits
    return ipaddress.IPv4Address((without_u >> (120 - prefix_length - 32)) & 0xFFFFFFFF)


def embedded_ipv4s(ip: IPAddress) -> Iterator[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address may lead to once translated."""
    if isinstance(ip, ipaddress.IPv4Address):
        return
    if ip.ipv4_mapped is not None:
        yield ip.ipv4_mapped
    elif ip in IPV4_TRANSLATED or ip in IPV4_COMPATIBLE:
        yield ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    elif ip.sixtofour is not None:
        yield ip.sixtofour
    elif ip in WELL_KNOWN_NAT64:
        yield rfc6052_ipv4(ip, 96)
    elif ip in LOCAL_USE_NAT64:
        yield from (rfc6052_ipv4(ip, length) for length in LOCAL_USE_NAT64_LENGTHS)


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why `ip` may not be a delivery target, or None when it is a public unicast address."""
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        reason = _ipv6_reason(ip)
        if reason is not None:
            return reason or None
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


def _ipv6_reason(ip: ipaddress.IPv6Address) -> str | None:
    """The reason for an IPv6-only rule; "" for an address that wraps only public IPv4
    addresses (allowed); None when no IPv6-only rule applies."""
    if ip in IPV4_TRANSLATED:
        return "an IPv4-translated address"
    if ip in IPV4_COMPATIBLE and int(ip) > 1:
        return "an IPv4-compatible address"
    if ip.teredo is not None:
        return "a Teredo tunnel address"
    if ip.is_site_local:
        return "a site-local address"
    for embedded in embedded_ipv4s(ip):
        reason = forbidden_reason(embedded)
        if reason:
            return f"{reason} (embedded in an IPv6 address)"
    wraps_ipv4 = ip.ipv4_mapped or ip.sixtofour or ip in WELL_KNOWN_NAT64 or ip in LOCAL_USE_NAT64
    return "" if wraps_ipv4 else None


@dataclass(frozen=True)
class EgressPolicy:
    """Where outbound requests may go: the rules of `forbidden_reason` unless private
    targets are allowed, and the operator's refused networks always."""

    allow_private: bool = False
    denied: tuple[IPNetwork, ...] = ()

    def refusal(self, ip: IPAddress) -> str | None:
        """Why this server may not connect to `ip`, or None."""
        if self.denied:
            for candidate in (ip, *embedded_ipv4s(ip)):
                for network in self.denied:
                    if candidate.version == network.version and candidate in network:
                        return f"in {network}, a network this server refuses"
        return None if self.allow_private else forbidden_reason(ip)
