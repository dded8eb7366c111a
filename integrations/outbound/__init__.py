"""The one outbound request policy: every request Gennaker makes on a user's behalf goes through it.

``settings`` holds the knobs (``GENNAKER_OUTBOUND__*``), ``policy`` the rules, ``transport`` the
connect-time address check, ``client`` one checked call with redirects and a capped body.
docs/security.md describes the threat model and how to allow an internal target on purpose.
"""

from typing import Any

from core.settings.outbound import AllowedRequest, OutboundSettings

from .client import OutboundResponse, ResponseTooLarge, arequest, request
from .policy import OutboundPolicy, OutboundRefused, parse_ip
from .transport import Resolver, guarded_async_client, guarded_client, system_resolver


def policy_from(settings: Any) -> OutboundPolicy:
    """The policy of a settings object (``settings.outbound``); the safe defaults when it has none."""
    configured = getattr(settings, "outbound", None)
    if isinstance(configured, dict):
        configured = OutboundSettings.model_validate(configured)
    return OutboundPolicy(configured if isinstance(configured, OutboundSettings) else None)


__all__ = [
    "AllowedRequest",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundResponse",
    "OutboundSettings",
    "ResponseTooLarge",
    "Resolver",
    "arequest",
    "guarded_async_client",
    "guarded_client",
    "parse_ip",
    "policy_from",
    "request",
    "system_resolver",
]
