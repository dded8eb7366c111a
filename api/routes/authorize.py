"""Fiat's ``GET /authorize/{user}``: the user's UserPermission (applications, accounts, service accounts, roles,
each with what the user may do). For the caller itself, or for anyone when an admin asks."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from core.auth import permissions as rules
from core.auth.principal import Principal
from core.errors import ApiError
from core.settings import Settings
from integrations.triggers.run_as import account_entries

from ..deps import PrincipalDep, SettingsDep, StoreDep
from ..models import UserPermission

if TYPE_CHECKING:
    from core.store import Store

router = APIRouter(tags=["auth"])
Json = dict[str, Any]


def _other(request: Request, store: Store, settings: Settings, user: str) -> Principal:
    """Another user as Fiat knows it: a service account by that name (its memberOf), else the roles file and the
    roles stored for the user."""
    from core.store import NotFoundError

    try:
        return rules.service_account_principal(store.service_accounts.get(user), settings.auth.admin_roles)
    except NotFoundError:
        pass
    roles: frozenset[str] = frozenset()
    if settings.auth.roles_file:
        from ..auth.authenticate import authenticator

        roles = authenticator(request.app).roles_file.roles_of(user)  # type: ignore[union-attr]
    from ..auth.authenticate import stored_roles

    roles |= stored_roles(store, user)
    admin = bool(roles & rules.normalize_roles(settings.auth.admin_roles))
    return Principal(name=user, roles=roles, admin=admin, authenticated=True, via="stored_roles")


@router.get("/authorize/{user}", response_model=UserPermission, response_model_exclude_unset=True)
async def authorize(
    user: str, request: Request, principal: PrincipalDep, settings: SettingsDep, store: StoreDep
) -> Json:
    auth = settings.auth
    if user.strip().lower() == principal.name.strip().lower():
        subject = principal
    elif not auth.enabled or principal.admin:
        subject = await asyncio.to_thread(_other, request, store, settings, user.strip())
    else:
        raise ApiError(403, f"Access denied: {principal.name} may only read its own permissions, not {user}'s")
    apps, service_accounts = await asyncio.gather(
        asyncio.to_thread(store.applications.all), asyncio.to_thread(store.service_accounts.all)
    )
    view = rules.user_permission(
        subject,
        applications=apps,
        accounts=account_entries(settings),
        service_accounts=service_accounts,
        execute_fallback=auth.execute_fallback,
        allow_unknown=auth.allow_access_to_unknown_applications,
        or_mode=bool(getattr(auth, "service_account_or_mode", False)),
    )
    # Igor's build services (Jenkins masters, CI services) with what the user may do to each
    from core.settings.ci import build_service_permissions

    services = build_service_permissions(settings)
    view["buildServices"] = [
        {"name": name, "authorizations": sorted(granted)}
        for name in sorted(services)
        if (granted := rules.build_service_authorizations(subject, services[name]))
    ]
    return view
