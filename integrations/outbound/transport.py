"""HTTP clients that connect only to addresses the policy allows (the DNS-rebinding guard).

httpcore opens every connection through a network backend; ours resolves the host once, checks
every answer with :meth:`OutboundPolicy.check_address`, and connects to exactly the address it
checked. The URL is left alone, so the ``Host`` header and TLS (SNI and certificate checks) still
use the name. Proxies from the environment are ignored: a proxy would make the connection itself.
"""

from __future__ import annotations

import socket
import ssl
import typing
from collections.abc import Callable, Iterable

import anyio.to_thread
import httpcore
import httpx

from .policy import OutboundPolicy, OutboundRefused, parse_ip

#: ``(host, port) -> addresses``: the resolver; tests inject one whose answers change
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``host`` (TCP), in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def vetted_addresses(policy: OutboundPolicy, resolver: Resolver, host: str, port: int) -> list[str]:
    """Resolve ``host`` once and check every answer; refuses if any answer is refused."""
    literal = parse_ip(host if ":" not in host else f"[{host}]")
    if literal is not None:
        policy.check_address(host, literal)
        return [str(literal)]
    policy.check_name(host)
    try:
        addresses = resolver(host, port)
    except OSError as err:
        raise httpcore.ConnectError(f"cannot resolve {host}: {err}") from err
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}: no addresses")
    for address in addresses:
        policy.check_address(host, address)
    return addresses


class _GuardedSyncBackend(httpcore.SyncBackend):
    def __init__(self, policy: OutboundPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in vetted_addresses(self.policy, self.resolver, host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        assert last is not None
        raise last


class _GuardedAsyncBackend(httpcore.AnyIOBackend):
    def __init__(self, policy: OutboundPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await anyio.to_thread.run_sync(vetted_addresses, self.policy, self.resolver, host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        assert last is not None
        raise last


def _pool_kwargs(transport: typing.Any) -> dict[str, typing.Any]:
    pool = transport._pool
    return {
        "ssl_context": pool._ssl_context,
        "max_connections": pool._max_connections,
        "max_keepalive_connections": pool._max_keepalive_connections,
        "keepalive_expiry": pool._keepalive_expiry,
        "http1": pool._http1,
        "http2": pool._http2,
    }


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the connect-time check (no proxies, no redirects of its own)."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver | None = None, **kwargs: typing.Any) -> None:
        super().__init__(trust_env=False, **kwargs)
        self._pool = httpcore.ConnectionPool(
            **_pool_kwargs(self), network_backend=_GuardedSyncBackend(policy, resolver or system_resolver)
        )


class AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    """The async twin of :class:`GuardedTransport`."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver | None = None, **kwargs: typing.Any) -> None:
        super().__init__(trust_env=False, **kwargs)
        self._pool = httpcore.AsyncConnectionPool(
            **_pool_kwargs(self), network_backend=_GuardedAsyncBackend(policy, resolver or system_resolver)
        )


def guarded_client(
    policy: OutboundPolicy,
    *,
    timeout: httpx.Timeout | float = 20.0,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """A sync client whose every connection passes the policy; it never follows redirects itself."""
    return httpx.Client(
        transport=GuardedTransport(policy, resolver, verify=verify),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def guarded_async_client(
    policy: OutboundPolicy,
    *,
    timeout: httpx.Timeout | float = 20.0,
    resolver: Resolver | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """An async client whose every connection passes the policy; it never follows redirects itself."""
    return httpx.AsyncClient(
        transport=AsyncGuardedTransport(policy, resolver, verify=verify),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


__all__ = [
    "AsyncGuardedTransport",
    "GuardedTransport",
    "OutboundRefused",
    "Resolver",
    "guarded_async_client",
    "guarded_client",
    "system_resolver",
]
