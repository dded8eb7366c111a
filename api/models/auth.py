"""Authentication and authorization at Gate's edge: the user, service accounts, stored roles, API tokens, the
audit trail, and Fiat's UserPermission view."""

from __future__ import annotations

from .base import SpinnakerDocument, SpinnakerPart


class Authority(SpinnakerPart):
    authority: str


class User(SpinnakerDocument):
    """Gate's ``GET /auth/user``: the caller, its roles and the accounts it may change."""

    username: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    roles: list[str]
    allowed_accounts: list[str]
    authorities: list[Authority]
    admin: bool
    authenticated: bool
    enabled: bool
    account_non_expired: bool
    account_non_locked: bool
    credentials_non_expired: bool


class ServiceAccount(SpinnakerDocument):
    """Front50's service account: a name ``runAsUser`` may give, and the roles it acts with."""

    name: str | None = None
    member_of: list[str] | None = None
    last_modified: int | None = None
    last_modified_by: str | None = None


class UserRoles(SpinnakerDocument):
    """The roles stored for a user (Fiat's ``PUT /roles/{user}``), joined to its credential's roles."""

    name: str
    roles: list[str]
    last_modified: int | None = None
    last_modified_by: str | None = None


class TokenRequest(SpinnakerDocument):
    """``POST /auth/tokens``: the owner, its roles, how long it lives (``30d``) and why it exists."""

    user: str | None = None
    roles: list[str] | None = None
    expires: str | None = None
    description: str | None = None


class ApiToken(SpinnakerDocument):
    """An API token's record (never its hash); ``token`` only in the answer that issued it."""

    id: str
    owner: str | None = None
    roles: list[str] | None = None
    description: str | None = None
    created_by: str | None = None
    created_at: int | None = None
    expires_at: int | None = None
    revoked_at: int | None = None
    last_used_at: int | None = None
    token: str | None = None


class AuditEvent(SpinnakerDocument):
    """Who did what, from where, and how it ended (never a secret or a token)."""

    at: int | None = None
    principal: str | None = None
    via: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    application: str | None = None
    execution_id: str | None = None
    outcome: str | None = None
    status: int | None = None
    remote_address: str | None = None
    detail: str | None = None


class ResourcePermission(SpinnakerPart):
    """A resource (application, account, build service) with what the user may do to it."""

    name: str
    authorizations: list[str]


class ServiceAccountView(SpinnakerPart):
    name: str
    member_of: list[str]


class RoleView(SpinnakerPart):
    name: str
    source: str | None = None


class UserPermission(SpinnakerDocument):
    """Fiat's ``UserPermission.View`` (``GET /authorize/{user}``)."""

    name: str
    accounts: list[ResourcePermission]
    applications: list[ResourcePermission]
    service_accounts: list[ServiceAccountView]
    roles: list[RoleView]
    build_services: list[ResourcePermission]
    admin: bool
    account_manager: bool | None = None
    legacy_fallback: bool | None = None
    allow_access_to_unknown_applications: bool | None = None
