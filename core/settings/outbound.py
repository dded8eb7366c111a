"""Settings of the outbound request policy (``settings.outbound``; ``GENNAKER_OUTBOUND__*``).

The shape follows Orca's ``UserConfiguredUrlRestrictions`` (schemes, a hostname pattern, excluded
domains, reject localhost / link-local / verbatim IPs, rejected IP ranges) and its webhook stage's
``allowedRequests`` (URL prefixes with HTTP methods). Gennaker adds what Orca leaves to the network:
private, CGNAT and multicast ranges are refused too, and internal targets are allowed only through
``allow_cidrs`` / ``allow_hosts``. docs/security.md explains every field.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

Bytes = Annotated[int, Field(ge=1024)]


class AllowedRequest(BaseModel):
    """Orca's ``webhook.allowedRequests[]``: a URL prefix and the methods that may be used on it."""

    model_config = ConfigDict(extra="forbid")

    url_prefix: str
    #: empty: every method
    http_methods: list[str] = Field(default_factory=list)

    @field_validator("http_methods")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [method.strip().upper() for method in value if method.strip()]


class OutboundSettings(BaseModel):
    """What requests made on a user's behalf (webhooks, notifications, URL expressions) may reach."""

    model_config = ConfigDict(extra="forbid")

    allowed_schemes: list[str] = Field(default_factory=lambda: ["http", "https"])
    #: a host name must match this (Python regex, whole name); IP literals are governed by the address rules
    allowed_hostnames_pattern: str = r".*\..+"
    #: names in (or under) these domains are refused: cluster-internal and cloud-metadata names
    excluded_domains: list[str] = Field(default_factory=lambda: ["internal", "local", "localdomain", "localhost"])
    #: loopback (127/8, ::1) and the unspecified address (0.0.0.0, ::), which reaches this host
    reject_localhost: bool = True
    #: 169.254/16 and fe80::/10, where cloud metadata services answer
    reject_link_local: bool = True
    #: RFC 1918, unique-local fc00::/7, CGNAT 100.64/10 and the other non-public ranges
    reject_private: bool = True
    #: 224/4, ff00::/8
    reject_multicast: bool = True
    #: refuse URLs whose host is an IP address at all (Orca's default is true; see docs/security.md)
    reject_verbatim_ips: bool = False
    #: more addresses or CIDR ranges to refuse; these win over every allowance
    rejected_ips: list[str] = Field(default_factory=list)
    #: the operator's opt-in for internal targets: addresses in these ranges are allowed despite the rules above
    allow_cidrs: list[str] = Field(default_factory=list)
    #: the operator's opt-in by name (``jenkins.corp.example.com``, ``*.svc.corp``): any address they resolve to
    allow_hosts: list[str] = Field(default_factory=list)
    #: Orca's ``webhook.allowedRequestsEnabled``: only URLs under ``allowed_requests`` may be called
    allowed_requests_enabled: bool = False
    allowed_requests: list[AllowedRequest] = Field(default_factory=list)
    #: redirects are followed by Gennaker, each hop checked again, at most this many
    max_redirects: int = Field(default=5, ge=0, le=20)
    #: a response body larger than this is never read: the call fails naming this setting
    max_response_bytes: Bytes = 4 * 1024 * 1024
    #: how much of a webhook response body the stage keeps in the execution (Orca keeps it all)
    webhook_kept_body_bytes: Bytes = 64 * 1024
    #: one call (all redirects and the body) may take at most this long
    total_timeout_s: float = Field(default=120.0, gt=0)

    @field_validator("rejected_ips", "allow_cidrs")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR range") from None
        return [item.strip() for item in value]

    @field_validator("allowed_hostnames_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a valid regular expression: {err}") from None
        return value

    @field_validator("allowed_schemes", "excluded_domains", "allow_hosts")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [item.strip().lower().strip(".") for item in value if item.strip()]
