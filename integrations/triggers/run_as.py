"""Who an execution runs as: a trigger's ``runAsUser`` (a service account) or anonymous when authentication is
on, the trigger's user when it is off; and the grants the engine checks its stages against.

The trigger launcher uses it for the executions it starts, and the API (``api/auth/enforce.py``) for the ones
a user starts; the permission rules themselves are Fiat's, in ``core/auth/permissions.py``.
"""

from __future__ import annotations

from typing import Any

from core.auth import permissions as rules
from core.auth.principal import Principal
from workflows.authorization import authentication

Json = dict[str, Any]


def account_entries(settings: Any) -> list[Json]:
    """Every account the permissions know: the settings' ``accounts`` list (what ``GET /credentials`` shows)."""
    return [a for a in settings.accounts if isinstance(a, dict)]


def run_as_authentication(store: Any, settings: Any, run_as: str | None, fallback_user: str) -> Json:
    """The ``authentication`` of an execution a trigger starts. Auth off: the trigger's user, as before.
    Auth on: ``run_as`` must be a service account in the store; the execution runs as it, with the accounts its
    roles may WRITE. Without ``run_as``, it runs as anonymous (the accounts open to everyone)."""
    from core.store import NotFoundError

    if not settings.auth.enabled:
        return {"user": run_as or fallback_user, "allowedAccounts": []}
    accounts = account_entries(settings)
    if not run_as:
        return enforced(rules.execution_authentication(Principal(), accounts), grants(Principal(), store, settings))
    try:
        service_account = store.service_accounts.get(run_as)
    except NotFoundError:
        raise PermissionError(f"runAsUser '{run_as}' is not a service account") from None
    principal = rules.service_account_principal(service_account, settings.auth.admin_roles)
    return enforced(rules.execution_authentication(principal, accounts), grants(principal, store, settings))


def enforced(body: Json, granted: Json | None = None) -> Json:
    """With authentication on, the engine checks each stage's accounts against ``allowedAccounts``
    (docs/auth-engine.md) and what else it uses against ``grants``: the API marks the executions it starts
    as enforced."""
    return authentication(body["user"], body["allowedAccounts"], enforced=True, grants=granted)


def grants(principal: Principal, store: Any, settings: Any) -> Json:
    """What ``principal`` may do to applications and Jenkins masters, for the engine's checks of pipeline and
    jenkins stages (docs/security-auth.md): only the resources it may not do everything to are listed."""
    if principal.admin:
        return {"admin": True}
    auth = settings.auth
    full_app = frozenset(rules.APPLICATION_AUTHORIZATIONS)
    applications: dict[str, list[str]] = {}
    for app in store.applications.all():
        name = app.get("name")
        if not isinstance(name, str):
            continue
        granted = rules.application_authorizations(
            principal,
            app,
            execute_fallback=auth.execute_fallback,
            allow_unknown=auth.allow_access_to_unknown_applications,
        )
        if not full_app <= granted:
            applications[name] = sorted(granted & full_app)
    services: dict[str, list[str]] = {}
    from core.settings.ci import build_service_permissions

    for master, permissions in build_service_permissions(settings).items():
        granted = rules.build_service_authorizations(principal, permissions)
        if granted != frozenset(rules.ACCOUNT_AUTHORIZATIONS):
            services[master] = sorted(granted)
    return {"admin": False, "applications": applications, "buildServices": services}
