"""OpenID Connect bearer tokens: JWTs signed by a configured issuer, checked against its published keys.

Keys come from the issuer's ``jwks_uri`` (configured, or read from ``{issuer}/.well-known/openid-configuration``)
and are cached for ``jwks_ttl_seconds``; a token naming an unknown ``kid`` refetches them at once (key rotation),
at most every few seconds. Only asymmetric algorithms the issuer allows are accepted: never ``none`` or ``HS*``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.errors import AuthError
from core.settings.auth import OidcIssuer

log = logging.getLogger("gennaker.auth")
FETCH_TIMEOUT = 5.0
#: an unknown kid refetches the keys, but not more often than this (a flood of bad tokens is not a flood of fetches)
REFETCH_INTERVAL = 5.0


class OidcError(AuthError, ValueError):
    """A JWT that is not accepted; the message says why and never contains the token."""


@dataclass
class Identity:
    issuer: str
    username: str
    roles: list[str]
    email: str | None


@dataclass
class _Keys:
    keys: dict[str, Any] = field(default_factory=dict)  # kid -> PyJWK
    fetched_at: float = 0.0


class OidcVerifier:
    """Checks JWTs against the configured issuers; one per app (it holds the key cache)."""

    def __init__(self, issuers: list[OidcIssuer]) -> None:
        self.issuers = {i.issuer.rstrip("/"): i for i in issuers}
        self._keys: dict[str, _Keys] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> Identity:
        import jwt  # PyJWT and cryptography load with the first token, not with every API (docs/architecture.md)

        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OidcError("the bearer token is not a well-formed JWT") from None
        issuer = self.issuers.get(str(unverified.get("iss", "")).rstrip("/"))
        if issuer is None:
            raise OidcError("the token's issuer is not one this API accepts")
        alg = header.get("alg")
        if alg not in issuer.algorithms:
            raise OidcError(f"the token's algorithm {str(alg)[:16]!r} is not allowed (allowed: {issuer.algorithms})")
        kid = header.get("kid")
        key = self._key(issuer, str(kid) if kid is not None else None)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=issuer.audience,
                issuer=unverified["iss"],
                leeway=issuer.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise OidcError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise OidcError("the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise OidcError("the token is not meant for this API (wrong audience)") from None
        except jwt.InvalidSignatureError:
            raise OidcError("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as err:
            raise OidcError(f"the token has no '{err.claim}' claim") from None
        except jwt.PyJWTError as err:
            raise OidcError(f"the token is not accepted ({type(err).__name__})") from None
        return _identity(issuer, claims)

    def _key(self, issuer: OidcIssuer, kid: str | None) -> Any:
        name = issuer.issuer.rstrip("/")
        unknown = "the token's signing key (kid) is not among the issuer's keys"
        with self._lock:  # one fetch at a time; the others wait for its keys
            cached = self._keys.get(name)
            now = time.monotonic()
            if cached is not None and now - cached.fetched_at < issuer.jwks_ttl_seconds:
                found = _pick(cached.keys, kid)
                if found is not None:
                    return found
                if now - cached.fetched_at < REFETCH_INTERVAL:
                    raise OidcError(unknown)
            try:
                keys = _fetch_keys(issuer)
            except OidcError:
                stale = _pick(cached.keys, kid) if cached is not None else None
                if stale is None:
                    raise
                log.warning("could not refresh the keys of %s; using the cached ones", name)
                return stale
            self._keys[name] = _Keys(keys, now)
            found = _pick(keys, kid)
        if found is None:
            raise OidcError(unknown)
        return found


def _pick(keys: dict[str, Any], kid: str | None) -> Any:
    if kid is not None:
        return keys.get(kid)
    return next(iter(keys.values())) if len(keys) == 1 else None


def _get_json(url: str, what: str) -> Any:
    try:
        response = httpx.get(url, timeout=FETCH_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, json.JSONDecodeError, ValueError) as err:
        log.warning("OIDC %s at %s cannot be read: %s", what, url, err)
        raise OidcError(f"the issuer's {what} cannot be read right now") from None


def _fetch_keys(issuer: OidcIssuer) -> dict[str, Any]:
    import jwt

    uri = issuer.jwks_uri
    if not uri:
        discovery = _get_json(issuer.issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
        if not isinstance(discovery, dict) or not isinstance(discovery.get("jwks_uri"), str):
            raise OidcError("the issuer's discovery document has no jwks_uri")
        if str(discovery.get("issuer", "")).rstrip("/") != issuer.issuer.rstrip("/"):
            raise OidcError("the issuer's discovery document names another issuer")
        uri = discovery["jwks_uri"]
    document = _get_json(uri, "keys (JWKS)")
    keys: dict[str, Any] = {}
    for i, raw in enumerate(document.get("keys", []) if isinstance(document, dict) else []):
        if not isinstance(raw, dict) or raw.get("use", "sig") != "sig" or raw.get("kty") not in ("RSA", "EC"):
            continue  # symmetric ("oct") keys are never trusted
        try:
            keys[str(raw.get("kid", f"#{i}"))] = jwt.PyJWK.from_dict(raw)
        except jwt.PyJWTError as err:
            log.warning("skipping an unusable key of %s: %s", issuer.issuer, err)
    log.info("fetched %d signing keys of %s", len(keys), issuer.issuer)
    return keys


def _identity(issuer: OidcIssuer, claims: dict[str, Any]) -> Identity:
    username = claims.get(issuer.username_claim) or claims.get("sub")
    if not isinstance(username, str) or not username.strip():
        raise OidcError(f"the token has no '{issuer.username_claim}' claim naming the user")
    roles: list[str] = []
    raw = claims.get(issuer.roles_claim) if issuer.roles_claim else None
    if isinstance(raw, str):
        roles = [r for r in raw.replace(",", " ").split() if r]
    elif isinstance(raw, list):
        roles = [str(r) for r in raw if isinstance(r, str | int)]
    email = claims.get("email")
    return Identity(issuer.issuer, username.strip(), roles, email if isinstance(email, str) else None)
