"""Gate's auth endpoints, Front50's service accounts, Gennaker's API tokens and audit trail (docs/auth.md)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Query

from core.auth import permissions
from core.auth.principal import Principal
from core.errors import ApiError
from core.settings import Settings

from ..auth import tokens
from ..deps import PrincipalDep, SettingsDep, StoreDep
from ..errors import ErrorBody, bad_request
from ..models import ApiToken, AuditEvent, ServiceAccount, TokenRequest, User, UserRoles, document

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Credentials not accepted, or none for an admin-only endpoint"},
    403: {"model": ErrorBody, "description": "Not an admin"},
}
router = APIRouter(tags=["auth"], responses=AUTH_ERRORS)
#: epoch milliseconds, within what every database's BIGINT holds
MAX_EPOCH_MS = 2**62
Json = dict[str, Any]


def require_admin(principal: Principal, settings: Settings) -> None:
    """Admin-only while authentication is on; open (as everything is) while it is off."""
    if not settings.auth.enabled or principal.admin:
        return
    if principal.is_anonymous:
        raise ApiError(401, "authentication required: this endpoint is for admins")
    raise ApiError(403, f"{principal.name} is not an admin (admins hold one of auth.admin_roles)")


@router.get("/auth/user", response_model=User)
def auth_user(principal: PrincipalDep, settings: SettingsDep) -> Json:
    """The caller, as Gate shows it; ``allowedAccounts`` are the accounts the caller may change (all of them
    while authentication is off)."""
    roles = sorted(principal.roles)
    accounts = settings.accounts
    allowed = (
        permissions.allowed_accounts(principal, accounts)
        if settings.auth.enabled
        else permissions.account_names(accounts)
    )
    return {
        "username": principal.name,
        "email": principal.email,
        "firstName": None,
        "lastName": None,
        "roles": roles,
        "allowedAccounts": allowed,
        "authorities": [{"authority": r} for r in roles],
        "admin": principal.admin,
        "authenticated": principal.authenticated,
        "enabled": True,
        "accountNonExpired": True,
        "accountNonLocked": True,
        "credentialsNonExpired": True,
    }


@router.get("/auth/user/serviceAccounts")
async def my_service_accounts(
    principal: PrincipalDep, settings: SettingsDep, store: StoreDep, application: str | None = None
) -> list[str]:
    """The service accounts the caller may name as ``runAsUser``: all for admins (and with authentication
    off), else those whose ``memberOf`` roles the caller holds (all of them; any with
    ``auth.service_account_or_mode``). ``application`` is accepted, as Gate does, and not used."""
    accounts = await asyncio.to_thread(store.service_accounts.all)
    if not settings.auth.enabled:
        return [a["name"] for a in accounts]
    or_mode = settings.auth.service_account_or_mode
    return [a["name"] for a in accounts if permissions.can_use_service_account(principal, a, or_mode=or_mode)]


@router.get("/serviceAccounts", response_model=list[ServiceAccount], response_model_exclude_unset=True)
async def list_service_accounts(principal: PrincipalDep, settings: SettingsDep, store: StoreDep) -> list[Json]:
    require_admin(principal, settings)
    return await asyncio.to_thread(store.service_accounts.all)


@router.post("/serviceAccounts", response_model=ServiceAccount, response_model_exclude_unset=True)
async def save_service_account(
    principal: PrincipalDep, settings: SettingsDep, store: StoreDep, account: ServiceAccount = Body(...)
) -> Json:
    require_admin(principal, settings)
    body = document(account)
    return await asyncio.to_thread(store.service_accounts.save, body)


@router.delete("/serviceAccounts/{name}")
async def delete_service_account(name: str, principal: PrincipalDep, settings: SettingsDep, store: StoreDep) -> None:
    require_admin(principal, settings)
    await asyncio.to_thread(store.service_accounts.delete, name)


@router.get("/roles/{user}", response_model=UserRoles, response_model_exclude_unset=True)
async def get_user_roles(user: str, principal: PrincipalDep, settings: SettingsDep, store: StoreDep) -> Json:
    """The roles stored for ``user`` (not those its credential or the roles file bring)."""
    require_admin(principal, settings)
    roles = await asyncio.to_thread(store.user_roles.get, user)
    return {"name": user.strip().lower(), "roles": roles}


@router.put("/roles/{user}", response_model=UserRoles, response_model_exclude_unset=True)
async def put_user_roles(
    user: str,
    principal: PrincipalDep,
    settings: SettingsDep,
    store: StoreDep,
    body: Any = Body(..., json_schema_extra={"type": "array", "items": {"type": "string"}}),
) -> Json:
    """Fiat's ``PUT /roles/{userId}``: replace the roles kept for a user; they join the credential's roles on its
    next request."""
    require_admin(principal, settings)
    return await asyncio.to_thread(store.user_roles.put, user, body, principal.name)


@router.delete("/roles/{user}")
async def delete_user_roles(user: str, principal: PrincipalDep, settings: SettingsDep, store: StoreDep) -> None:
    require_admin(principal, settings)
    await asyncio.to_thread(store.user_roles.delete, user)


@router.get("/audit", response_model=list[AuditEvent], response_model_exclude_unset=True)
async def audit(
    principal: PrincipalDep,
    settings: SettingsDep,
    store: StoreDep,
    user: str | None = None,
    application: str | None = None,
    action: str | None = None,
    executionId: str | None = None,  # noqa: N803 - Gate's spelling
    outcome: str | None = None,
    since: int | None = Query(None, ge=0, le=MAX_EPOCH_MS),
    until: int | None = Query(None, ge=0, le=MAX_EPOCH_MS),
    limit: int = Query(100, ge=1, le=1000),
) -> list[Json]:
    """The audit trail, newest first (admins only while authentication is on)."""
    require_admin(principal, settings)
    filters = {
        "principal": user,
        "application": application,
        "action": action,
        "executionId": executionId,
        "outcome": outcome,
        "since": since,
        "until": until,
    }
    return await asyncio.to_thread(store.audit.query, filters, limit)


@router.get("/auth/tokens", response_model=list[ApiToken], response_model_exclude_unset=True)
async def list_tokens(
    principal: PrincipalDep, settings: SettingsDep, store: StoreDep, user: str | None = None
) -> list[Json]:
    require_admin(principal, settings)
    return [tokens.public(t) for t in await asyncio.to_thread(store.api_tokens.all, user)]


@router.post("/auth/tokens", status_code=201, response_model=ApiToken, response_model_exclude_unset=True)
async def issue_token(
    principal: PrincipalDep, settings: SettingsDep, store: StoreDep, request: TokenRequest = Body(...)
) -> Json:
    """``{user, roles?, expires?: "30d", description?}`` → the record and, this once, ``token``."""
    require_admin(principal, settings)
    body = document(request)
    user = body.get("user")
    if not isinstance(user, str) or not user.strip():
        raise bad_request("'user' names the token's owner", field="user")
    roles = body.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise bad_request("'roles' must be a list of role names", field="roles")
    expires = body.get("expires")
    if expires is not None:
        try:
            tokens.parse_duration(str(expires))
        except ValueError as err:
            raise bad_request(str(err), field="expires") from None
    description = body.get("description")
    token, record = await asyncio.to_thread(
        tokens.issue,
        store,
        user,
        roles,
        expires=str(expires) if expires is not None else None,
        by=principal.name,
        description=str(description) if description is not None else None,
    )
    return {**record, "token": token}


@router.delete("/auth/tokens/{token_id}", response_model=ApiToken, response_model_exclude_unset=True)
async def revoke_token(token_id: str, principal: PrincipalDep, settings: SettingsDep, store: StoreDep) -> Json:
    require_admin(principal, settings)
    return tokens.public(await asyncio.to_thread(store.api_tokens.revoke, token_id))
