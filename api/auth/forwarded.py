"""Forwarded headers (``X-Forwarded-For`` / ``X-Forwarded-Proto``) honoured only from the configured proxies.

uvicorn's own proxy-header handling trusts 127.0.0.1 by default, so any process on the API's machine (a webhook
stage run by the worker there, say) could name any client address, and with it pass for the authenticating
proxy. Gennaker starts uvicorn with that handling off and does it here instead: the TCP peer is kept in the
scope (``gennaker.peer``, what the proxy user header is checked against) and the forwarded headers are applied
only when that peer is in ``auth.proxy.trusted_addresses``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("gennaker.auth")
PEER = "gennaker.peer"


def trusted_networks(settings: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    proxy = getattr(getattr(settings, "auth", None), "proxy", None)
    addresses = proxy.trusted_addresses if proxy is not None else []
    return [ipaddress.ip_network(a, strict=False) for a in addresses]


def is_trusted(peer: str | None, networks: list[Any]) -> bool:
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def uvicorn_options() -> dict[str, Any]:
    """What every uvicorn that serves the API is started with: no proxy headers of its own (done here)."""
    return {"proxy_headers": False, "forwarded_allow_ips": ""}


class ForwardedHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = client[0] if client else None
        scope[PEER] = peer
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        forwarded_for, proto = headers.get("x-forwarded-for"), headers.get("x-forwarded-proto")
        if forwarded_for or proto:
            networks = trusted_networks(scope["app"].state.settings)
            if is_trusted(peer, networks):
                if forwarded_for:
                    # the nearest address a trusted proxy did not add itself is the client
                    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
                    chosen = next((h for h in reversed(hops) if not is_trusted(h, networks)), hops[0] if hops else None)
                    if chosen:
                        scope["client"] = (chosen, 0)
                if proto and proto.strip().lower() in ("http", "https", "ws", "wss"):
                    scope["scheme"] = proto.strip().lower()
        await self.app(scope, receive, send)


def peer_of(scope: Scope) -> str | None:
    """The TCP peer of the request (before any forwarded header was applied)."""
    if PEER in scope:
        return scope[PEER]  # type: ignore[no-any-return]
    client = scope.get("client")
    return client[0] if client else None


def install(app: Any) -> None:
    """Added after the audit middleware, so it runs first and the audit records the client it settled on."""
    app.add_middleware(ForwardedHeaders)
