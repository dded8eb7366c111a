"""Fiat's settings: ``GENNAKER_AUTH__*``. Off by default, as Spinnaker runs with authentication off."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class AuthSettings(BaseModel):
    """Authentication and permissions. With ``enabled`` false every caller is anonymous and allowed everything."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    #: callers holding any of these roles are admins (Fiat's ``fiat.admin.roles``)
    admin_roles: list[str] = Field(default_factory=list)
    #: the roles an application's missing EXECUTE list falls back to (Fiat's ``fiat.executeFallback``)
    execute_fallback: Literal["READ", "WRITE"] = "READ"
    #: whether applications the store does not know are open (Fiat's ``fiat.allowAccessToUnknownApplications``)
    allow_access_to_unknown_applications: bool = False
    #: OpenID Connect issuers whose bearer JWTs are accepted (docs/auth.md)
    oidc: list[OidcIssuer] = Field(default_factory=list)
    #: an authenticating proxy in front of the API that names the user in a header
    proxy: ProxySettings | None = None
    #: Fiat's file role provider: YAML ``users: [{username, roles: [...]}]``
    roles_file: str | None = None
    #: Fiat's ``fiat.role.orMode``: a service account may be used by holders of ANY of its roles (default ALL)
    service_account_or_mode: bool = False
    #: Fiat's CREATE restriction (``fiat.restrictApplicationCreation``): who may create applications besides
    #: admins; ``["*"]`` lets every authenticated caller (docs/security-auth.md)
    create_application_roles: list[str] = Field(default_factory=list)
    #: Igor's build-service permissions, by Jenkins master name: ``{READ: [roles], WRITE: [roles]}``;
    #: a master not listed is open (docs/security-auth.md)
    build_services: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    #: pipeline config fields redacted in reads (key names anywhere, or dotted paths such as
    #: ``stages.*.context.password``); a git trigger's ``secret`` always is
    secret_fields: list[str] = Field(default_factory=list)
    #: the key sealing secrets that travel through Temporal (a Fernet key); None: one generated into the
    #: state dir on first use (``sealing.key``). API and worker must share it.
    seal_key: SecretStr | None = None
    #: keys of earlier rotations: they still open what they sealed (a save, or ``gennaker auth reseal``, seals it
    #: again with ``seal_key``) and never seal
    previous_seal_keys: list[SecretStr] = Field(default_factory=list)


Algorithm = Literal["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
DEFAULT_ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "ES256")


class OidcIssuer(BaseModel):
    """One OpenID Connect issuer. Keys come from ``jwks_uri``, or from the issuer's discovery document."""

    model_config = ConfigDict(extra="forbid")

    issuer: str
    #: the ``aud`` the API's tokens carry (its client id)
    audience: str
    jwks_uri: str | None = None
    username_claim: str = "preferred_username"
    roles_claim: str | None = "groups"
    algorithms: list[Algorithm] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    #: how long fetched keys are trusted before they are fetched again (an unknown ``kid`` refetches at once)
    jwks_ttl_seconds: float = 600.0
    #: seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``
    leeway_seconds: float = 30.0


class ProxySettings(BaseModel):
    """An authenticating proxy (oauth2-proxy, an ingress with SSO) that puts the user in a header."""

    model_config = ConfigDict(extra="forbid")

    user_header: str = "X-Forwarded-User"
    roles_header: str | None = None
    email_header: str | None = None
    #: the header is honoured only from these peers (IPs or CIDRs); from anyone else it is ignored
    trusted_addresses: list[str] = Field(default_factory=list)

    @field_validator("trusted_addresses")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR") from None
        return value


AuthSettings.model_rebuild()
