"""The outbound policy as tables: every spelling of an internal address, every rule, its settings.

No network here except where a name must resolve: those cases inject a resolver, and the refused
ones never open a connection (nothing listens on the addresses they name)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.settings import Settings, describe_error
from integrations.outbound import (
    AllowedRequest,
    OutboundPolicy,
    OutboundRefused,
    OutboundSettings,
    guarded_client,
    parse_ip,
    policy_from,
    request,
)
from integrations.outbound.policy import host_addresses

DEFAULT = OutboundPolicy()


def refusal(policy: OutboundPolicy, url: str, method: str = "GET") -> OutboundRefused:
    with pytest.raises(OutboundRefused) as raised:
        policy.check_url(method, url)
    return raised.value


@pytest.mark.parametrize(
    ("host", "address", "what", "rule"),
    [
        ("2130706433", "127.0.0.1", "loopback", "reject_localhost"),  # decimal
        ("0177.0.0.1", "127.0.0.1", "loopback", "reject_localhost"),  # octal
        ("0x7f000001", "127.0.0.1", "loopback", "reject_localhost"),  # hex
        ("0x7f.0.0.1", "127.0.0.1", "loopback", "reject_localhost"),  # hex part
        ("127.1", "127.0.0.1", "loopback", "reject_localhost"),  # short
        ("127.0.1", "127.0.0.1", "loopback", "reject_localhost"),
        ("127.0.0.1.", "127.0.0.1", "loopback", "reject_localhost"),  # trailing dot
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1 (IPv4 127.0.0.1)", "loopback", "reject_localhost"),  # mapped
        ("[::ffff:7f00:1]", "::ffff:7f00:1 (IPv4 127.0.0.1)", "loopback", "reject_localhost"),
        ("[::127.0.0.1]", "::7f00:1 (IPv4 127.0.0.1)", "loopback", "reject_localhost"),  # compatible
        ("[::1]", "::1", "loopback", "reject_localhost"),
        ("[0:0:0:0:0:0:0:1]", "::1", "loopback", "reject_localhost"),
        ("[fe80::1%25eth0]", "fe80::1", "link-local", "reject_link_local"),  # zone id
        ("[FE80::1]", "fe80::1", "link-local", "reject_link_local"),
        ("169.254.169.254", "169.254.169.254", "link-local", "reject_link_local"),  # cloud metadata
        ("2852039166", "169.254.169.254", "link-local", "reject_link_local"),  # metadata, decimal
        ("0xa9fea9fe", "169.254.169.254", "link-local", "reject_link_local"),  # metadata, hex
        ("[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe (IPv4 169.254.169.254)", "link-local", "reject_link_local"),
        ("[fd00:ec2::254]", "fd00:ec2::254", "unique-local (RFC 4193)", "reject_private"),  # AWS IMDS on IPv6
        ("10.0.0.1", "10.0.0.1", "private (RFC 1918)", "reject_private"),
        ("10.255.255.255", "10.255.255.255", "private (RFC 1918)", "reject_private"),
        ("012.1", "10.0.0.1", "private (RFC 1918)", "reject_private"),
        ("172.16.0.1", "172.16.0.1", "private (RFC 1918)", "reject_private"),
        ("172.31.255.254", "172.31.255.254", "private (RFC 1918)", "reject_private"),
        ("192.168.0.1", "192.168.0.1", "private (RFC 1918)", "reject_private"),
        ("192.168.255.255", "192.168.255.255", "private (RFC 1918)", "reject_private"),
        ("100.64.0.1", "100.64.0.1", "carrier-grade NAT (RFC 6598)", "reject_private"),
        ("100.127.255.254", "100.127.255.254", "carrier-grade NAT (RFC 6598)", "reject_private"),
        ("[fc00::1]", "fc00::1", "unique-local (RFC 4193)", "reject_private"),
        ("[64:ff9b::a00:1]", "64:ff9b::a00:1 (IPv4 10.0.0.1)", "private (RFC 1918)", "reject_private"),  # NAT64
        ("[2002:c0a8:1::]", "2002:c0a8:1:: (IPv4 192.168.0.1)", "private (RFC 1918)", "reject_private"),  # 6to4
        ("0.0.0.0", "0.0.0.0", "unspecified (this host)", "reject_localhost"),
        ("0", "0.0.0.0", "unspecified (this host)", "reject_localhost"),
        ("[::]", "::", "unspecified (this host)", "reject_localhost"),
        ("224.0.0.1", "224.0.0.1", "multicast", "reject_multicast"),
        ("[ff02::1]", "ff02::1", "multicast", "reject_multicast"),
        ("240.0.0.1", "240.0.0.1", "reserved", "reject_private"),
    ],
)
def test_internal_addresses_are_refused_in_every_spelling(host: str, address: str, what: str, rule: str) -> None:
    error = refusal(DEFAULT, f"http://{host}:8080/latest/meta-data/")
    assert str(error) == f"address {address} is {what} (outbound.{rule})"
    assert error.rule == f"outbound.{rule}"


@pytest.mark.parametrize(
    "host",
    ["8.8.8.8", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "169.253.255.255", "[2606:4700::1]"],
)
def test_public_addresses_next_to_the_ranges_pass(host: str) -> None:
    DEFAULT.check_url("POST", f"https://{host}/hook")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("0x", "0.0.0.0"),
        ("08.1.1.1", None),  # not octal, not decimal: a name (and then no such host)
        ("4294967296", None),
    ],
)
def test_ip_literals_are_normalised(text: str, expected: str | None) -> None:
    parsed = parse_ip(text)
    assert (str(parsed) if parsed is not None else None) == expected


@pytest.mark.parametrize(
    ("url", "rule", "reason"),
    [
        ("http://metadata.google.internal/computeMetadata/v1/", "excluded_domains", "excluded domain 'internal'"),
        ("http://METADATA.google.internal./x", "excluded_domains", "excluded domain 'internal'"),
        ("http://localhost:7233/", "excluded_domains", "excluded domain 'localhost'"),
        ("http://api.localhost/", "excluded_domains", "excluded domain 'localhost'"),
        ("http://printer.local/", "excluded_domains", "excluded domain 'local'"),
        ("http://temporal-frontend:7233/", "allowed_hostnames_pattern", "does not match"),  # single-label name
        ("ftp://example.com/x", "allowed_schemes", "scheme 'ftp' is not allowed"),
        ("file:///etc/passwd", "allowed_schemes", "scheme 'file' is not allowed"),
        ("gopher://example.com/", "allowed_schemes", "scheme 'gopher'"),
        ("http:///nohost", "allowed_hostnames_pattern", "no host"),
    ],
)
def test_names_and_schemes(url: str, rule: str, reason: str) -> None:
    error = refusal(DEFAULT, url)
    assert error.rule == f"outbound.{rule}" and reason in error.reason


def test_metadata_name_resolving_to_link_local_is_refused_at_connect_time() -> None:
    """With the name rule switched off, metadata.google.internal still dies on its address."""
    policy = OutboundPolicy(OutboundSettings(excluded_domains=[]))
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["169.254.169.254"]

    with guarded_client(policy, resolver=resolver) as client, pytest.raises(OutboundRefused) as raised:
        request(client, policy, "GET", "http://metadata.google.internal/computeMetadata/v1/")
    assert str(raised.value) == "address 169.254.169.254 is link-local (outbound.reject_link_local)"
    assert asked == ["metadata.google.internal"]


def test_a_name_with_any_internal_answer_is_refused() -> None:
    policy = OutboundPolicy()
    with (
        guarded_client(policy, resolver=lambda host, port: ["93.184.215.14", "10.1.2.3"]) as client,
        pytest.raises(OutboundRefused, match=r"address 10\.1\.2\.3 is private \(RFC 1918\) \(outbound\.reject_private"),
    ):
        request(client, policy, "GET", "http://mixed.example.com/")


def test_operator_opt_in_by_cidr_and_by_host() -> None:
    policy = OutboundPolicy(
        OutboundSettings(
            allow_cidrs=["10.20.0.0/16", "fd00:1::/64"],
            allow_hosts=["jenkins.corp.example.com", "*.svc.corp", "nexus"],
            rejected_ips=["10.20.99.0/24"],
        )
    )
    policy.check_url("GET", "http://10.20.3.4:8080/job/x")
    policy.check_url("GET", "http://[fd00:1::5]/")
    policy.check_address("jenkins.corp.example.com", "10.9.9.9")  # any address of an allowed name
    policy.check_address("build.svc.corp", "192.168.1.1")
    policy.check_url("GET", "http://nexus/repository/")  # an allowed name skips the name rules too
    assert refusal(policy, "http://10.21.0.1/").rule == "outbound.reject_private"
    assert refusal(policy, "http://169.254.169.254/").rule == "outbound.reject_link_local"
    rejected = "address 10.20.99.7 is in 10.20.99.0/24 (outbound.rejected_ips)"
    assert str(refusal(policy, "http://10.20.99.7/")) == rejected
    with pytest.raises(OutboundRefused, match="reject_private"):
        policy.check_address("evil.example.com", "10.9.9.9")
    with pytest.raises(OutboundRefused, match="rejected_ips"):  # rejected ranges win over allowed names
        policy.check_address("jenkins.corp.example.com", "10.20.99.1")


def test_each_reject_switch_can_be_turned_off() -> None:
    for switch, url in [
        ("reject_localhost", "http://127.0.0.1/"),
        ("reject_link_local", "http://169.254.1.1/"),
        ("reject_private", "http://192.168.1.1/"),
        ("reject_multicast", "http://224.0.0.9/"),
    ]:
        assert refusal(DEFAULT, url).rule == f"outbound.{switch}"
        OutboundPolicy(OutboundSettings.model_validate({switch: False})).check_url("GET", url)


def test_this_hosts_own_addresses_are_refused_like_loopback() -> None:
    """Orca's rejectLocalhost also refuses the machine's interface addresses: a public IP on the worker
    reaches whatever listens on 0.0.0.0 there."""
    public_here = ipaddress.ip_address("203.0.114.9")
    policy = OutboundPolicy(own_addresses=[public_here])
    assert str(refusal(policy, "http://203.0.114.9:8233/")) == (
        "address 203.0.114.9 is this host's own address (outbound.reject_localhost)"
    )
    with pytest.raises(OutboundRefused, match="own address"):
        policy.check_address("worker.example.com", "::ffff:203.0.114.9")
    OutboundPolicy(OutboundSettings(allow_cidrs=["203.0.114.9/32"]), own_addresses=[public_here]).check_url(
        "GET", "http://203.0.114.9/"
    )
    OutboundPolicy(OutboundSettings(reject_localhost=False), own_addresses=[public_here]).check_url(
        "GET", "http://203.0.114.9/"
    )
    # the real reader finds at least the loopback address of this machine
    assert ipaddress.ip_address("127.0.0.1") in host_addresses()


def test_verbatim_ips_refused_when_configured() -> None:
    policy = OutboundPolicy(OutboundSettings(reject_verbatim_ips=True, allow_cidrs=["10.0.0.0/8"]))
    assert str(refusal(policy, "https://8.8.8.8/")) == "host 8.8.8.8 is an IP address (outbound.reject_verbatim_ips)"
    assert refusal(policy, "https://134744072/").rule == "outbound.reject_verbatim_ips"  # 8.8.8.8 in decimal
    policy.check_url("GET", "http://10.1.1.1/")  # an opted-in range may still be named by address
    policy.check_url("GET", "https://example.com/")


def test_allowed_requests_match_prefix_and_method() -> None:
    policy = OutboundPolicy(
        OutboundSettings(
            allowed_requests_enabled=True,
            allowed_requests=[
                AllowedRequest(url_prefix="https://ci.example.com/hooks/", http_methods=["post", "GET"]),
                AllowedRequest(url_prefix="https://status.example.com/"),
            ],
        )
    )
    policy.check_url("POST", "https://ci.example.com/hooks/build")
    policy.check_url("DELETE", "https://status.example.com/x")
    assert refusal(policy, "https://ci.example.com/hooks/x", "DELETE").rule == "outbound.allowed_requests"
    assert refusal(policy, "https://ci.example.com/other", "POST").rule == "outbound.allowed_requests"
    nothing = OutboundPolicy(OutboundSettings(allowed_requests_enabled=True))
    assert refusal(nothing, "https://example.com/").rule == "outbound.allowed_requests"  # Orca: empty list = none


def test_metadata_headers_are_refused_and_hop_by_hop_headers_dropped() -> None:
    for name in ("Metadata-Flavor", "metadata", "X-aws-ec2-metadata-token", "X-aws-ec2-metadata-token-ttl-seconds"):
        with pytest.raises(OutboundRefused, match=r"outbound\.metadata_headers"):
            DEFAULT.request_headers([("Accept", "*/*"), (name, "Google")])
    kept = DEFAULT.request_headers(
        [("Authorization", "Bearer t"), ("Connection", "Upgrade"), ("Upgrade", "h2c"), ("Host", "internal"),
         ("Transfer-Encoding", "chunked"), ("Proxy-Authorization", "x"), ("X-Custom", "1")]
    )  # fmt: skip
    assert kept == [("Authorization", "Bearer t"), ("X-Custom", "1")]


def test_a_fresh_install_refuses_internal_targets() -> None:
    settings = Settings()
    policy = policy_from(settings)
    assert settings.outbound == OutboundSettings()
    assert refusal(policy, "http://127.0.0.1:8084/applications").rule == "outbound.reject_localhost"
    assert refusal(policy, "http://169.254.169.254/").rule == "outbound.reject_link_local"
    assert policy_from(object()).settings == OutboundSettings()  # no settings: the same safe defaults


def test_settings_from_the_environment_and_errors_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_OUTBOUND__ALLOW_CIDRS", '["10.0.0.0/8"]')
    monkeypatch.setenv("GENNAKER_OUTBOUND__MAX_RESPONSE_BYTES", "2048")
    settings = Settings()
    assert settings.outbound.allow_cidrs == ["10.0.0.0/8"] and settings.outbound.max_response_bytes == 2048
    monkeypatch.setenv("GENNAKER_OUTBOUND__ALLOW_CIDRS", '["10.0.0.0/33"]')
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "GENNAKER_OUTBOUND__ALLOW_CIDRS" in describe_error(raised.value)
    assert "not an IP address or CIDR range" in describe_error(raised.value)
    with pytest.raises(ValidationError, match="regular expression"):
        OutboundSettings(allowed_hostnames_pattern="(")


def test_guarded_client_ignores_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy would make the connection itself, out of the policy's sight: the environment's is ignored."""
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    with guarded_client(DEFAULT, resolver=lambda host, port: ["169.254.169.254"]) as client:
        assert not client._trust_env
        with pytest.raises(OutboundRefused, match="link-local"):
            request(client, DEFAULT, "GET", "http://example.com/")
    assert isinstance(client, httpx.Client)


def _outcome(policy: OutboundPolicy, host: str) -> str | None:
    try:
        policy.check_url("GET", f"http://{host}/")
    except OutboundRefused as err:
        return err.rule
    return None


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_spelling_of_an_address_gets_the_same_verdict(number: int) -> None:
    """Whatever an IPv4 address's verdict is in dotted form, its other spellings get the same one."""
    address = ipaddress.IPv4Address(number)
    a, b, c, d = address.packed
    expected = _outcome(DEFAULT, str(address))
    spellings = [
        str(number),  # decimal
        hex(number),  # hex
        f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",  # octal parts
        f"{a}.{(b << 16) | (c << 8) | d}",  # short a.b
        f"{a}.{b}.{(c << 8) | d}",  # short a.b.c
        f"[::ffff:{address}]",  # IPv4-mapped
        f"[::ffff:{(a << 8) | b:x}:{(c << 8) | d:x}]",  # IPv4-mapped, hex words
    ]
    for spelling in spellings:
        assert _outcome(DEFAULT, spelling) == expected, spelling
