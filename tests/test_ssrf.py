"""The SSRF rules, vector by vector (pure functions): forbidden addresses, and URLs read
as the HTTP client reads them."""

import ipaddress

import pytest

from service.lib.ssrf import EgressPolicy, UnsafeTarget, forbidden_reason, rfc6052_ipv4
from service.lib.targets import literal_ip, parse_target, refusal

FORBIDDEN = [
    "127.0.0.1",
    "127.255.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "169.254.1.1",
    "0.0.0.0",
    "224.0.0.1",
    "239.1.2.3",
    "255.255.255.255",
    "168.63.129.16",
    "100.100.100.200",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a00:1",
    "2001:0:4136:e378::1",
    "198.18.0.1",
    "192.0.2.1",
    "::127.0.0.1",  # IPv4-compatible
    "::8.8.8.8",
    "::ffff:0:127.0.0.1",  # IPv4-translated
    "::ffff:0:8.8.8.8",
    "fec0::1",  # site-local
    "64:ff9b:1::7f00:1",  # local-use NAT64, /96 embedding
    "64:ff9b:1:7f00:1::",  # /48 embedding
    "64:ff9b:1:7f:0:1::",  # /56 embedding
    "64:ff9b:1:0:7f:0:1::",  # /64 embedding
    "64:ff9b:1:a9:fe:a9fe::",  # /56 embedding of 169.254.169.254
]
ALLOWED = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden_addresses(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("example.com", None),
        ("1e100.net", None),
    ],
)
def test_numeric_host_spellings(host: str, expected: str | None) -> None:
    ip = literal_ip(host)
    assert (str(ip) if ip else None) == (str(ipaddress.ip_address(expected)) if expected else None)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://h/",
        "file:///etc/passwd",
        "http://",
        "http://h:0/",
        "http://h:70000/",
        "http://a:b@h/",
        "javascript:alert(1)",
        "http://[::1/",
    ],
)
def test_malformed_or_unsupported_urls(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        parse_target(url)


@pytest.mark.parametrize(
    ("address", "length", "prefix"),
    [  # RFC 6052, section 2.4: 192.0.2.33 under each prefix length
        ("2001:db8:c000:221::", 32, "2001:db8::/32"),
        ("2001:db8:1c0:2:21::", 40, "2001:db8:100::/40"),
        ("2001:db8:122:c000:2:2100::", 48, "2001:db8:122::/48"),
        ("2001:db8:122:3c0:0:221::", 56, "2001:db8:122:300::/56"),
        ("2001:db8:122:344:c0:2:2100:0", 64, "2001:db8:122:344::/64"),
        ("2001:db8:122:344::192.0.2.33", 96, "2001:db8:122:344::/96"),
    ],
)
def test_rfc6052_embedding_at_every_prefix_length(address: str, length: int, prefix: str) -> None:
    ip = ipaddress.IPv6Address(address)
    assert ip in ipaddress.IPv6Network(prefix)
    assert rfc6052_ipv4(ip, length) == ipaddress.IPv4Address("192.0.2.33")


def test_operator_denied_networks_apply_with_private_targets_allowed_and_through_ipv6() -> None:
    policy = EgressPolicy(
        allow_private=True,
        denied=(ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("2001:db8:64::/96")),
    )
    for address in ("203.0.113.7", "::ffff:203.0.113.7", "64:ff9b::cb00:7107", "2001:db8:64::1"):
        assert policy.refusal(ipaddress.ip_address(address)) is not None, address
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert EgressPolicy().refusal(ipaddress.ip_address("127.0.0.1")) is not None


# Hosts that are 127.0.0.1 (or the metadata address) to the HTTP client, however written.
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.1.",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "0177.0.0.1",
    "127.1",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
]
UNICODE_SPELLINGS = [
    "127.0.0.\U0001fbf1",  # SEGMENTED DIGIT ONE (Unicode 13)
    "169.254.169.25\U0001fbf4",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits
    "127\u30020\u30020\u30021",  # ideographic full stops
    "127\uff0e0\uff0e0\uff0e1",  # fullwidth full stops
    "127\uff610\uff610\uff611",  # halfwidth ideographic full stops
    "\u2460\u2461\u2466.0.0.1",  # circled digits
    "127.0.0.1\u3002",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_ascii_spelling_of_an_address_is_read_as_that_address(host: str) -> None:
    target = parse_target(f"http://{host}:8080/hook")
    assert target.address is not None
    assert (getattr(target.address, "ipv4_mapped", None) or target.address).is_loopback
    assert refusal(target, EgressPolicy()) is not None
    assert refusal(target, EgressPolicy(allow_private=True)) is None


@pytest.mark.parametrize("host", UNICODE_SPELLINGS)
def test_a_non_ascii_host_that_reads_as_an_address_is_refused(host: str) -> None:
    with pytest.raises(UnsafeTarget, match="non-ASCII"):
        parse_target(f"http://{host}/hook")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://fa\u00df.de/", "differently"),  # IDNA 2003 says fass.de, UTS-46 xn--fa-hia.de
        ("http://%31%32%37.0.0.1/", "percent"),
        ("http://ex%41mple.com/", "percent"),
        ("http://a\u200bb.example/", "not a valid URL"),
    ],
)
def test_hosts_that_read_differently_or_not_at_all_are_refused(url: str, match: str) -> None:
    with pytest.raises(UnsafeTarget, match=match):
        parse_target(url)


def test_a_unicode_name_is_checked_as_the_name_the_client_resolves() -> None:
    target = parse_target("https://b\u00fccher.example/hook")
    assert target.host == "xn--bcher-kva.example" and target.address is None
    assert str(target.url.origin()) == "https://xn--bcher-kva.example"
