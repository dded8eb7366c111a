"""Who is calling: Gate's authentication, for Gennaker's three ways in.

1. ``Authorization: Bearer gnk_...`` — an API token an admin issued (api/auth/tokens.py).
2. ``Authorization: Bearer <JWT>`` — an OpenID Connect token from a configured issuer (api/auth/oidc.py).
3. A user header set by an authenticating proxy, honoured only from ``auth.proxy.trusted_addresses``.

A trusted proxy's header wins over a bearer credential (the proxy already authenticated the user). No credentials
at all is the anonymous caller (the permission checks decide what anonymous may do); bad credentials are a 401.
Roles are the credential's own plus the roles file's; any of ``auth.admin_roles`` makes an admin.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any

from fastapi import Request

from api.errors import ApiError
from core.auth.principal import ANONYMOUS_PRINCIPAL, Principal
from core.errors import AuthError
from core.settings.auth import AuthSettings

from . import tokens
from .oidc import OidcError, OidcVerifier
from .roles import RolesFile, RolesFileError, is_admin, normalize

log = logging.getLogger("gennaker.auth")


class AuthenticationError(AuthError):
    """Credentials were sent and are not accepted; the message never contains them."""


class Authenticator:
    """The ways in configured by ``settings.auth``; one per app (it caches issuers' keys and the roles file)."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self.oidc = OidcVerifier(settings.oidc) if settings.oidc else None
        self.roles_file = RolesFile(settings.roles_file) if settings.roles_file else None
        proxy = settings.proxy
        self.trusted = [ipaddress.ip_network(a, strict=False) for a in proxy.trusted_addresses] if proxy else []

    def authenticate(self, headers: Any, peer: str | None, store: Any) -> Principal:
        proxy = self.settings.proxy
        if proxy is not None and headers.get(proxy.user_header):
            if self._trusted(peer):
                return self._proxy_principal(headers, store)
            log.warning("ignoring the %s header from %s: not a trusted proxy address", proxy.user_header, peer)
        authorization = headers.get("authorization")
        if not authorization:
            return ANONYMOUS_PRINCIPAL
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        if tokens.looks_like_token(credential):
            return self._token_principal(credential, store)
        if credential.count(".") == 2 and self.oidc is not None:
            return self._oidc_principal(credential, store)
        raise AuthenticationError("the bearer token is neither a Gennaker API token nor a JWT of a configured issuer")

    def _trusted(self, peer: str | None) -> bool:
        from .forwarded import is_trusted

        return is_trusted(peer, self.trusted)

    def _proxy_principal(self, headers: Any, store: Any) -> Principal:
        assert self.settings.proxy is not None
        proxy = self.settings.proxy
        name = headers.get(proxy.user_header, "").strip()
        roles = headers.get(proxy.roles_header, "").replace(";", ",").split(",") if proxy.roles_header else []
        email = headers.get(proxy.email_header) if proxy.email_header else None
        return self._principal(name, roles, "proxy", store, email=email)

    def _token_principal(self, credential: str, store: Any) -> Principal:
        from core.store import NotFoundError

        try:
            record = tokens.verify(store, credential)
        except tokens.TokenError as err:
            raise AuthenticationError(str(err)) from None
        roles = list(record.get("roles") or [])
        try:  # a token issued to a service account carries the account's roles
            roles += store.service_accounts.get(record["owner"]).get("memberOf", [])
            via = "service_account"
        except NotFoundError:
            via = "token"
        return self._principal(record["owner"], roles, via, store)

    def _oidc_principal(self, credential: str, store: Any) -> Principal:
        assert self.oidc is not None
        try:
            identity = self.oidc.verify(credential)
        except OidcError as err:
            raise AuthenticationError(str(err)) from None
        return self._principal(identity.username, identity.roles, "oidc", store, email=identity.email)

    def _principal(self, name: str, roles: list[str], via: str, store: Any, *, email: str | None = None) -> Principal:
        name = name.strip().lower()
        if not name:
            raise AuthenticationError("the credential names no user")
        held = normalize(roles)
        if self.roles_file is not None:
            held |= self.roles_file.roles_of(name)
        if store is not None:  # roles an admin stored for the user (PUT /roles/{user})
            held |= stored_roles(store, name)
        return Principal(
            name=name,
            roles=held,
            admin=is_admin(held, self.settings.admin_roles),
            authenticated=True,
            via=via,
            email=email,
        )


def stored_roles(store: Any, name: str) -> frozenset[str]:
    """The roles an admin stored for ``name``; those stored while authentication was off (by the anonymous
    caller, whom anyone could be) grant nothing."""
    record = store.user_roles.record(name)
    if record is None:
        return frozenset()
    if str(record.get("lastModifiedBy") or "").strip().lower() in ("", "anonymous"):
        log.warning("ignoring the roles stored for %s while authentication was off (store them again)", name)
        return frozenset()
    return normalize(record.get("roles") or [])


_build_lock = threading.Lock()


def authenticator(app: Any) -> Authenticator:
    """The app's Authenticator, built on first use (and again if the settings object was replaced)."""
    settings = app.state.settings.auth
    current = getattr(app.state, "authenticator", None)
    if current is None or current.settings is not settings:
        with _build_lock:
            current = getattr(app.state, "authenticator", None)
            if current is None or current.settings is not settings:
                current = app.state.authenticator = Authenticator(settings)
    return current


def resolve(request: Request) -> Principal:
    """The caller of this request (computed once per request): anonymous while ``auth.enabled`` is false."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    if not request.app.state.settings.auth.enabled:
        principal = ANONYMOUS_PRINCIPAL
    else:
        from .forwarded import peer_of

        peer = peer_of(request.scope)  # the TCP peer: a forwarded address never makes a trusted proxy
        try:
            principal = authenticator(request.app).authenticate(request.headers, peer, request.app.state.store)
        except AuthenticationError as err:
            log.info("refused credentials from %s on %s: %s", peer, request.url.path, err)
            raise ApiError(401, f"authentication failed: {err}") from None
        except RolesFileError as err:
            log.error("%s", err)
            raise ApiError(503, "the roles file cannot be read; see the API's log") from None
    request.state.principal = principal
    return principal
