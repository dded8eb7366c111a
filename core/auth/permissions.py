"""Fiat's permission model, as pure functions: who may READ, WRITE or EXECUTE an application, READ or WRITE
an account, and use a service account; and the ``UserPermission`` document Fiat serves.

Rules (Fiat's, checked against spinnaker/fiat):

- An application's ``permissions`` map READ / WRITE / EXECUTE to role lists; the older
  ``requiredGroupMembership`` list means READ and WRITE for those roles. Role names are trimmed and
  lower-cased, as Fiat's ``Permissions.Builder`` does; so are the caller's.
- An application without any role listed is open: every authorization to everyone.
- WRITE does NOT imply READ (Fiat grants exactly the authorizations whose role lists meet the caller's
  roles); an application restricted on READ only is open to nobody else for writing, and vice versa.
- A restricted application without an EXECUTE list gets the roles of ``execute_fallback`` (READ by
  default) as its EXECUTE list (Fiat's ``DefaultFallbackPermissionsResolver``).
- An application the store does not know is open only with ``allow_access_to_unknown_applications``.
- Accounts: ``permissions: {READ: [...], WRITE: [...]}`` on the account's entry; none = open.
- Admins may do everything, and use every service account.
- A service account ``{name, memberOf: [roles]}`` may be used by a caller holding all its roles (any of
  them in ``or_mode``, Fiat's ``fiat.role.orMode``); one without roles by admins only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .principal import Principal

READ, WRITE, EXECUTE, CREATE = "READ", "WRITE", "EXECUTE", "CREATE"
APPLICATION_AUTHORIZATIONS = (READ, WRITE, EXECUTE)
ACCOUNT_AUTHORIZATIONS = (READ, WRITE)
ALL = frozenset({READ, WRITE, EXECUTE, CREATE})
Json = dict[str, Any]
#: an application or account without restrictions
OPEN: dict[str, frozenset[str]] | None = None


def normalize_roles(roles: Iterable[Any] | None) -> frozenset[str]:
    """Fiat's role names: trimmed, lower-cased, blanks dropped."""
    return frozenset(r.strip().lower() for r in roles or () if isinstance(r, str) and r.strip())


def caller_roles(principal: Principal) -> frozenset[str]:
    return normalize_roles(principal.roles)


def application_permissions(app: Mapping[str, Any], execute_fallback: str = READ) -> dict[str, frozenset[str]] | None:
    """The application's role lists by authorization, or ``None`` when it is open to everyone."""
    raw = app.get("permissions")
    perms: dict[str, frozenset[str]] = {}
    if isinstance(raw, Mapping):
        for key, roles in raw.items():
            name = str(key).upper()
            if name in APPLICATION_AUTHORIZATIONS and isinstance(roles, list):
                perms[name] = normalize_roles(roles)
    legacy = app.get("requiredGroupMembership")
    if not any(perms.values()) and isinstance(legacy, list) and normalize_roles(legacy):
        perms = {READ: normalize_roles(legacy), WRITE: normalize_roles(legacy)}
    perms = {k: v for k, v in perms.items() if v}
    if not perms:
        return OPEN
    if EXECUTE not in perms and perms.get(execute_fallback.upper()):
        perms[EXECUTE] = perms[execute_fallback.upper()]
    return perms


def application_authorizations(
    principal: Principal,
    app: Mapping[str, Any] | None,
    *,
    execute_fallback: str = READ,
    allow_unknown: bool = False,
) -> frozenset[str]:
    """What ``principal`` may do to the application (``None``: the store has no such application)."""
    if principal.admin:
        return ALL
    if app is None:
        return ALL if allow_unknown else frozenset()
    perms = application_permissions(app, execute_fallback)
    if perms is None:  # open
        return ALL
    roles = caller_roles(principal)
    return frozenset(a for a, wanted in perms.items() if wanted & roles)


def can_create_application(principal: Principal, create_roles: Iterable[str]) -> bool:
    """Fiat's CREATE on applications (``fiat.restrictApplicationCreation``): admins, holders of one of
    ``auth.create_application_roles``, or every authenticated caller when that list holds ``*``."""
    if principal.admin:
        return True
    listed = {str(r).strip().lower() for r in create_roles}
    if "*" in listed:
        return principal.authenticated
    return bool(normalize_roles(listed) & caller_roles(principal))


def build_service_authorizations(principal: Principal, permissions: Mapping[str, Any] | None) -> frozenset[str]:
    """Igor's build-service (Jenkins master) permissions: ``{READ: [roles], WRITE: [roles]}``; none listed: open."""
    if principal.admin:
        return frozenset(ACCOUNT_AUTHORIZATIONS)
    perms = account_permissions({"permissions": permissions}) if permissions else OPEN
    if perms is None:
        return frozenset(ACCOUNT_AUTHORIZATIONS)
    roles = caller_roles(principal)
    return frozenset(a for a, wanted in perms.items() if wanted & roles)


def account_permissions(account: Mapping[str, Any]) -> dict[str, frozenset[str]] | None:
    raw = account.get("permissions")
    if not isinstance(raw, Mapping):
        return OPEN
    perms = {str(k).upper(): normalize_roles(v) for k, v in raw.items() if isinstance(v, list)}
    perms = {k: v for k, v in perms.items() if k in ACCOUNT_AUTHORIZATIONS and v}
    return perms or OPEN


def account_authorizations(principal: Principal, account: Mapping[str, Any]) -> frozenset[str]:
    if principal.admin:
        return frozenset(ACCOUNT_AUTHORIZATIONS)
    perms = account_permissions(account)
    if perms is None:  # open
        return frozenset(ACCOUNT_AUTHORIZATIONS)
    roles = caller_roles(principal)
    return frozenset(a for a, wanted in perms.items() if wanted & roles)


def account_names(accounts: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(a["name"]) for a in accounts if isinstance(a, Mapping) and isinstance(a.get("name"), str)]


def find_account(accounts: Iterable[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    for account in accounts:
        if isinstance(account, Mapping) and str(account.get("name", "")).lower() == name.lower():
            return account
    return None


def allowed_accounts(principal: Principal, accounts: Iterable[Mapping[str, Any]]) -> list[str]:
    """The accounts ``principal`` may WRITE: what Gate sends as ``X-SPINNAKER-ACCOUNTS`` and Orca keeps in
    ``authentication.allowedAccounts`` (sorted, each once)."""
    names = {
        str(a["name"])
        for a in accounts
        if isinstance(a, Mapping) and isinstance(a.get("name"), str) and WRITE in account_authorizations(principal, a)
    }
    return sorted(names)


def can_use_service_account(principal: Principal, service_account: Mapping[str, Any], *, or_mode: bool = False) -> bool:
    """Whether ``principal`` may name this service account as a trigger's ``runAsUser``."""
    if principal.admin:
        return True
    member_of = normalize_roles(service_account.get("memberOf") or [])
    if not member_of:
        return False
    roles = caller_roles(principal)
    return bool(member_of & roles) if or_mode else member_of <= roles


def service_account_principal(service_account: Mapping[str, Any], admin_roles: Iterable[str] = ()) -> Principal:
    """The principal an execution runs as when a trigger names this service account."""
    roles = normalize_roles(service_account.get("memberOf") or [])
    return Principal(
        name=str(service_account.get("name")),
        roles=roles,
        admin=bool(roles & normalize_roles(admin_roles)),
        authenticated=True,
        via="service_account",
    )


def execution_authentication(principal: Principal, accounts: Iterable[Mapping[str, Any]]) -> Json:
    """Orca's ``execution.authentication``: who the execution runs as and the accounts it may change."""
    return {"user": principal.name, "allowedAccounts": allowed_accounts(principal, accounts)}


def _view(name: str, authorizations: Iterable[str]) -> Json:
    order = {a: i for i, a in enumerate((READ, WRITE, EXECUTE, CREATE))}
    return {"name": name, "authorizations": sorted(set(authorizations), key=order.__getitem__)}


def user_permission(
    principal: Principal,
    *,
    applications: Iterable[Mapping[str, Any]],
    accounts: Iterable[Mapping[str, Any]],
    service_accounts: Iterable[Mapping[str, Any]],
    execute_fallback: str = READ,
    allow_unknown: bool = False,
    or_mode: bool = False,
) -> Json:
    """Fiat's ``UserPermission.View`` (``GET /authorize/{user}``): each resource with what the user may do.

    As Fiat, open applications are listed only when unknown applications are not open anyway."""
    apps = []
    for app in applications:
        name = app.get("name")
        if not isinstance(name, str):
            continue
        if allow_unknown and application_permissions(app, execute_fallback) is None and not principal.admin:
            continue
        granted = application_authorizations(principal, app, execute_fallback=execute_fallback)
        if granted:
            apps.append(_view(name, granted & frozenset(APPLICATION_AUTHORIZATIONS)))
    account_views = []
    for account in accounts:
        if isinstance(account, Mapping) and isinstance(account.get("name"), str):
            granted = account_authorizations(principal, account)
            if granted:
                account_views.append(_view(str(account["name"]), granted))
    usable = [
        {"name": sa["name"], "memberOf": sorted(normalize_roles(sa.get("memberOf") or []))}
        for sa in service_accounts
        if isinstance(sa.get("name"), str) and can_use_service_account(principal, sa, or_mode=or_mode)
    ]
    return {
        "name": principal.name,
        "accounts": sorted(account_views, key=lambda v: v["name"]),
        "applications": sorted(apps, key=lambda v: v["name"]),
        "serviceAccounts": sorted(usable, key=lambda v: v["name"]),
        "roles": [{"name": r, "source": principal.via} for r in sorted(caller_roles(principal))],
        "buildServices": [],
        "extensionResources": {},
        "admin": principal.admin,
        "accountManager": False,
        "legacyFallback": False,
        "allowAccessToUnknownApplications": allow_unknown,
    }
