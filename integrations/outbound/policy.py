"""The outbound policy: may Gennaker send this request, to this name, at this address?

Two checks, both raising :class:`OutboundRefused` with the setting that refused:

* :meth:`OutboundPolicy.check_url` before a request (and before each redirect): scheme, the
  operator's allowed requests, the host name rules, and the address rules when the host is an IP
  literal (in any spelling: ``2130706433``, ``0177.0.0.1``, ``0x7f000001``, ``127.1``, ``[::1]``,
  ``[fe80::1%eth0]``, ``[::ffff:127.0.0.1]``).
* :meth:`OutboundPolicy.check_address` at connect time, on every address the name resolved to
  (``transport`` connects to exactly the address checked here, so DNS cannot change it afterwards).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import IntegrationError
from core.settings.outbound import OutboundSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: headers that cloud metadata services require; a request carrying one is refused
METADATA_HEADERS = frozenset(
    {
        "metadata-flavor",
        "metadata",
        "x-google-metadata-request",
        "x-aws-ec2-metadata-token",
        "x-aws-ec2-metadata-token-ttl-seconds",
        "x-identity-header",
    }
)
#: headers about the connection, which Gennaker owns: dropped from what users configure
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

_NUMBER = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$")


class OutboundRefused(IntegrationError):
    """A request the policy does not allow. ``rule`` names the setting (``outbound.reject_link_local``)."""

    def __init__(self, reason: str, rule: str) -> None:
        super().__init__(f"{reason} ({rule})")
        self.reason = reason
        self.rule = rule


@dataclass(frozen=True)
class _Range:
    network: Network
    what: str
    rule: str


def _ranges() -> tuple[_Range, ...]:
    table = [
        ("127.0.0.0/8", "loopback", "reject_localhost"),
        ("::1/128", "loopback", "reject_localhost"),
        ("0.0.0.0/8", "unspecified (this host)", "reject_localhost"),
        ("::/128", "unspecified (this host)", "reject_localhost"),
        ("169.254.0.0/16", "link-local", "reject_link_local"),
        ("fe80::/10", "link-local", "reject_link_local"),
        ("10.0.0.0/8", "private (RFC 1918)", "reject_private"),
        ("172.16.0.0/12", "private (RFC 1918)", "reject_private"),
        ("192.168.0.0/16", "private (RFC 1918)", "reject_private"),
        ("100.64.0.0/10", "carrier-grade NAT (RFC 6598)", "reject_private"),
        ("fc00::/7", "unique-local (RFC 4193)", "reject_private"),
        ("fec0::/10", "site-local", "reject_private"),
        ("192.0.0.0/24", "IETF protocol assignments", "reject_private"),
        ("198.18.0.0/15", "benchmarking", "reject_private"),
        ("192.0.2.0/24", "documentation", "reject_private"),
        ("198.51.100.0/24", "documentation", "reject_private"),
        ("203.0.113.0/24", "documentation", "reject_private"),
        ("2001:db8::/32", "documentation", "reject_private"),
        ("240.0.0.0/4", "reserved", "reject_private"),
        ("100::/64", "discard-only", "reject_private"),
        ("224.0.0.0/4", "multicast", "reject_multicast"),
        ("ff00::/8", "multicast", "reject_multicast"),
    ]
    return tuple(_Range(ipaddress.ip_network(net), what, rule) for net, what, rule in table)


RANGES = _ranges()
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")


def parse_ipv4_loose(text: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any spelling ``inet_aton`` accepts (decimal, octal, hex, 1-4 parts), else None."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.match(p) for p in parts):
        return None
    values = []
    for part in parts:
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif part.startswith("0") and len(part) > 1:
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for i, value in enumerate(head):
        number += value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def parse_ip(host: str) -> IPAddress | None:
    """The address a URL host names when it is an IP literal (zone ids dropped), else None."""
    text = host.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        text = text.replace("%25", "%").split("%", 1)[0]
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return parse_ipv4_loose(text)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one that carries it: mapped ``::ffff:a.b.c.d``, compatible
    ``::a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d`` and 6to4 ``2002:AABB:CCDD::``."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    number = int(address)
    if number >> 32 == 0 and number > 1:
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if address in _NAT64:
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if address in _SIXTOFOUR:
        return address.sixtofour
    return None


def host_addresses() -> frozenset[IPAddress]:
    """This machine's own addresses (Orca's ``NetworkInterface.getByInetAddress`` check): on Linux
    read from ``/proc/net/fib_trie`` (IPv4 ``host LOCAL`` entries) and ``/proc/net/if_inet6``,
    elsewhere what the host name resolves to."""
    found: set[IPAddress] = set()
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
        for previous, line in zip(lines, lines[1:], strict=False):
            if line.strip().endswith("host LOCAL") and "|--" in previous:
                found.add(ipaddress.ip_address(previous.split("|--", 1)[1].strip()))
        for row in Path("/proc/net/if_inet6").read_text().splitlines():
            digits = row.split()[0]
            found.add(ipaddress.IPv6Address(int(digits, 16)))
    except (OSError, ValueError, IndexError):
        try:
            for info in socket.getaddrinfo(socket.gethostname(), None):
                found.add(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except (OSError, ValueError):
            pass
    return frozenset(found)


def _host_matches(host: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(host, pattern)


class OutboundPolicy:
    """The rules of :class:`OutboundSettings`, compiled once."""

    def __init__(
        self, settings: OutboundSettings | None = None, *, own_addresses: Iterable[IPAddress] | None = None
    ) -> None:
        self.settings = settings = settings or OutboundSettings()
        #: this host's addresses (read once); refused with ``reject_localhost`` like loopback
        self.own_addresses = frozenset(host_addresses() if own_addresses is None else own_addresses)
        self._hostname = re.compile(settings.allowed_hostnames_pattern)
        self._rejected = [ipaddress.ip_network(n, strict=False) for n in settings.rejected_ips]
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in settings.allow_cidrs]

    # -- URLs

    def check_url(self, method: str, url: str) -> None:
        """Refuse ``url`` before any connection: scheme, allowed requests, host name, IP literal."""
        try:
            parts = urlsplit(url.strip())
            parts.port  # noqa: B018 - raises for a bad port
        except ValueError as err:
            raise OutboundRefused(f"invalid URL: {err}", "outbound.allowed_schemes") from None
        scheme = parts.scheme.lower()
        if scheme not in self.settings.allowed_schemes:
            allowed = ", ".join(self.settings.allowed_schemes)
            raise OutboundRefused(f"scheme '{scheme}' is not allowed (only {allowed})", "outbound.allowed_schemes")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise OutboundRefused("the URL has no host", "outbound.allowed_hostnames_pattern")
        self._check_request(method, url.strip())
        address = parse_ip(host if ":" not in host else f"[{host}]")
        if address is not None:
            if self.settings.reject_verbatim_ips and not self._allowed_address(address):
                raise OutboundRefused(f"host {host} is an IP address", "outbound.reject_verbatim_ips")
            self.check_address(host, address)
            return
        self.check_name(host)

    def _check_request(self, method: str, url: str) -> None:
        if not self.settings.allowed_requests_enabled:
            return
        for allowed in self.settings.allowed_requests:
            if url.startswith(allowed.url_prefix) and (not allowed.http_methods or method in allowed.http_methods):
                return
        raise OutboundRefused(f"{method} to this URL is not in the allowed requests", "outbound.allowed_requests")

    def check_name(self, host: str) -> None:
        """Refuse a host name by the name rules (unless the operator allowed it by name)."""
        name = host.lower().rstrip(".")
        if self.host_allowed(name):
            return
        for domain in self.settings.excluded_domains:
            if name == domain or name.endswith("." + domain):
                raise OutboundRefused(f"host {name} is in the excluded domain '{domain}'", "outbound.excluded_domains")
        if not self._hostname.fullmatch(name):
            raise OutboundRefused(
                f"host {name} does not match '{self.settings.allowed_hostnames_pattern}'",
                "outbound.allowed_hostnames_pattern",
            )

    def host_allowed(self, host: str) -> bool:
        """Did the operator allow this name whatever it resolves to (``allow_hosts``)?"""
        name = host.lower().rstrip(".")
        return any(_host_matches(name, pattern) for pattern in self.settings.allow_hosts)

    # -- addresses

    def check_address(self, host: str, address: IPAddress | str) -> None:
        """Refuse connecting to ``address`` (which ``host`` resolved to, or spelled)."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        inner = embedded_ipv4(ip)
        candidates: list[IPAddress] = [ip, inner] if inner is not None else [ip]
        shown = str(ip) if inner is None else f"{ip} (IPv4 {inner})"
        for candidate in candidates:
            for network in self._rejected:
                if candidate in network:
                    raise OutboundRefused(f"address {shown} is in {network}", "outbound.rejected_ips")
        if self.host_allowed(host) or any(self._allowed_address(c) for c in candidates):
            return
        for candidate in candidates:
            for entry in RANGES:
                inside = candidate.version == entry.network.version and candidate in entry.network
                if inside and getattr(self.settings, entry.rule):
                    raise OutboundRefused(f"address {shown} is {entry.what}", f"outbound.{entry.rule}")
        if self.settings.reject_localhost and any(c in self.own_addresses for c in candidates):
            raise OutboundRefused(f"address {shown} is this host's own address", "outbound.reject_localhost")

    def _allowed_address(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self._allowed)

    # -- headers

    def request_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Users' headers as they may be sent: metadata headers refused, hop-by-hop ones dropped."""
        out = []
        for name, value in headers:
            lowered = name.strip().lower()
            if lowered in METADATA_HEADERS or lowered.startswith("x-aws-ec2-metadata-token"):
                raise OutboundRefused(
                    f"header '{name}' is only used to reach cloud metadata services", "outbound.metadata_headers"
                )
            if lowered not in HOP_BY_HOP_HEADERS:
                out.append((name, value))
        return out
