"""Enforcing Fiat's permissions in the routes: one ``Guard`` per request (``GuardDep``), asked explicitly by
each route (``await guard.app(name, WRITE)``), never guessed from paths.

With ``settings.auth.enabled`` false every check passes and every filter keeps everything.
A refusal is Gate's 403 error body naming the permission and the resource.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Request

from core.auth import permissions as rules
from core.auth.principal import Principal
from integrations.triggers.run_as import account_entries, enforced, grants

from ..deps import get_principal
from ..errors import ApiError

Json = dict[str, Any]
READ, WRITE, EXECUTE = rules.READ, rules.WRITE, rules.EXECUTE
MANAGED_SUFFIX = "@managed-service-account"


def forbidden(message: str, **extra: Any) -> ApiError:
    return ApiError(403, message, **extra)


def job_accounts(job: Any) -> set[str]:
    """The accounts a stage or orchestration job would change (Orca's ``credentials`` / ``account`` keys)."""
    if not isinstance(job, dict):
        return set()
    names = {job.get(k) for k in ("credentials", "account", "accountName", "deploymentAccount")}
    return {n for n in names if isinstance(n, str) and n}


class Guard:
    """The caller's permissions for one request, with the applications it looked up remembered."""

    def __init__(self, principal: Principal, settings: Any, store: Any) -> None:
        self.principal = principal
        self.settings = settings
        self.store = store
        self.enabled = bool(settings.auth.enabled)
        self._apps: dict[str, Json | None] = {}

    # ---- applications ------------------------------------------------------------------------------------

    def _load_app(self, name: str) -> Json | None:
        from core.store import NotFoundError

        key = name.strip().lower()
        if key not in self._apps:
            try:
                self._apps[key] = self.store.applications.get(key)
            except NotFoundError:
                self._apps[key] = None
        return self._apps[key]

    def app_allows_sync(self, application: str | None, authorization: str) -> bool:
        if not self.enabled:
            return True
        if not isinstance(application, str) or not application:
            return self.principal.admin or self.settings.auth.allow_access_to_unknown_applications
        granted = rules.application_authorizations(
            self.principal,
            self._load_app(application),
            execute_fallback=self.settings.auth.execute_fallback,
            allow_unknown=self.settings.auth.allow_access_to_unknown_applications,
        )
        return authorization in granted

    async def app_allows(self, application: str | None, authorization: str) -> bool:
        if not self.enabled:
            return True
        return await asyncio.to_thread(self.app_allows_sync, application, authorization)

    async def app(self, application: str | None, authorization: str) -> None:
        """403 unless the caller has ``authorization`` on the application."""
        if not await self.app_allows(application, authorization):
            raise self._refusal(authorization, "application", application)

    async def app_write_or_create(self, application: str) -> None:
        """Saving an application: WRITE on one that exists; CREATE (``auth.create_application_roles``) for a new one."""
        if not self.enabled:
            return
        if await asyncio.to_thread(self._load_app, application) is None:
            self.create_application(application)
            return
        await self.app(application, WRITE)

    def create_application(self, application: str) -> None:
        """403 unless the caller may create applications (Fiat's CREATE restriction)."""
        roles = self.settings.auth.create_application_roles
        if self.enabled and not rules.can_create_application(self.principal, roles):
            raise forbidden(
                f"Access denied: {self.principal.name} does not have CREATE permission on application '{application}'"
                " (creating applications needs one of auth.create_application_roles)",
                field="application.name",
            )

    # ---- build services (Jenkins masters) ------------------------------------------------------------------

    def build_service_allows(self, master: str, authorization: str) -> bool:
        if not self.enabled:
            return True
        permissions = _master_permissions(self.settings, master)
        return authorization in rules.build_service_authorizations(self.principal, permissions)

    def build_service(self, master: str, authorization: str) -> None:
        """403 unless the caller has ``authorization`` on the Jenkins master (Igor's build-service permissions)."""
        if not self.build_service_allows(master, authorization):
            raise self._refusal(authorization, "build service", master)

    async def keep_apps(self, items: Iterable[Any], key: Any = None, authorization: str = READ) -> list[Any]:
        """The items whose application the caller may READ (``key`` gives an item's application)."""
        listed = list(items)
        if not self.enabled:
            return listed
        pick = key or (lambda item: item.get("application") if isinstance(item, dict) else None)

        def keep() -> list[Any]:
            return [item for item in listed if self.app_allows_sync(pick(item), authorization)]

        return await asyncio.to_thread(keep)

    async def execution(self, execution: Json, authorization: str) -> Json:
        await self.app(execution.get("application"), authorization)
        return execution

    async def execution_id(self, execution_id: str, authorization: str) -> None:
        """Check an execution known by id (404 if the store has none, as the route would answer)."""
        if not self.enabled:
            return
        stored = await asyncio.to_thread(self.store.executions.get, execution_id)
        await self.execution(stored, authorization)

    # ---- accounts --------------------------------------------------------------------------------------------

    def account_allows(self, account: str | None, authorization: str) -> bool:
        if not self.enabled or not isinstance(account, str) or not account:
            return True
        entry = rules.find_account(account_entries(self.settings), account)
        if entry is None:  # not an account Gennaker was given: nothing restricts it
            return True
        return authorization in rules.account_authorizations(self.principal, entry)

    def account(self, account: str | None, authorization: str) -> None:
        if not self.account_allows(account, authorization):
            raise self._refusal(authorization, "account", account)

    def keep_accounts(self, items: Iterable[Any], key: str = "account", authorization: str = READ) -> list[Any]:
        listed = list(items)
        if not self.enabled:
            return listed
        return [i for i in listed if not isinstance(i, dict) or self.account_allows(i.get(key), authorization)]

    def jobs(self, jobs: Iterable[Any]) -> None:
        """WRITE on every account the jobs (orchestration steps, ad-hoc stages) name."""
        for i, job in enumerate(jobs):
            for name in sorted(job_accounts(job)):
                if not self.account_allows(name, WRITE):
                    raise self._refusal(WRITE, "account", name, field=f"job[{i}].account")

    # ---- executions' authentication ------------------------------------------------------------------------

    def authentication(self) -> Json:
        """``execution.authentication`` for an execution this caller starts."""
        if not self.enabled:
            return {"user": self.principal.name, "allowedAccounts": []}
        body = rules.execution_authentication(self.principal, account_entries(self.settings))
        return enforced(body, grants(self.principal, self.store, self.settings))

    async def authentication_off_loop(self) -> Json:
        """:meth:`authentication`, whose grants read every application, in a thread (routes call this)."""
        if not self.enabled:
            return self.authentication()
        return await asyncio.to_thread(self.authentication)

    def _refusal(self, authorization: str, kind: str, name: Any, **extra: Any) -> ApiError:
        who = self.principal.name
        what = f"{kind} '{name}'" if name else f"an unnamed {kind}"
        return forbidden(f"Access denied: {who} does not have {authorization} permission on {what}", **extra)


def _master_permissions(settings: Any, master: str) -> Json | None:
    """A build service's permissions from ``auth.build_services`` or the CI service's own (names compare
    ignoring case)."""
    from core.settings.ci import build_service_permissions

    for name, permissions in build_service_permissions(settings).items():
        if name.lower() == master.lower():
            return permissions
    return None


def get_guard(request: Request, principal: Annotated[Principal, Depends(get_principal)]) -> Guard:
    return Guard(principal, request.app.state.settings, request.app.state.store)


GuardDep = Annotated[Guard, Depends(get_guard)]


# ---- service accounts ------------------------------------------------------------------------------------------


def _or_mode(settings: Any) -> bool:
    return bool(getattr(settings.auth, "service_account_or_mode", False))


def check_run_as_users(guard: Guard, config: Json, managed: str | None = None) -> None:
    """Refuse (403, naming ``triggers[i].runAsUser``) a trigger whose runAsUser the saver may not use."""
    from core.store import NotFoundError

    if not guard.enabled:
        return
    for i, trigger in enumerate(config.get("triggers") or []):
        run_as = trigger.get("runAsUser") if isinstance(trigger, dict) else None
        if not isinstance(run_as, str) or not run_as.strip() or run_as.strip().lower() == managed:
            continue
        field = f"triggers[{i}].runAsUser"
        own = f"{config.get('id')}{MANAGED_SUFFIX}".lower()
        if run_as.strip().lower().endswith(MANAGED_SUFFIX) and run_as.strip().lower() != own:  # another pipeline's
            raise ApiError(
                400,
                f"{field}: '{run_as}' is a managed service account; a pipeline runs only as its own"
                f" (set 'roles' and it is {config.get('id') or '<its id>'}{MANAGED_SUFFIX})",
                field=field,
            )
        try:
            service_account = guard.store.service_accounts.get(run_as.strip())
        except NotFoundError:
            raise ApiError(400, f"{field}: '{run_as}' is not a service account", field=field) from None
        if not rules.can_use_service_account(guard.principal, service_account, or_mode=_or_mode(guard.settings)):
            raise forbidden(
                f"{field}: {guard.principal.name} may not run triggers as service account '{run_as}'"
                " (it does not hold the account's roles)",
                field=field,
            )


def apply_managed_service_account(guard: Guard, config: Json, previous: Json | None) -> Json:
    """Orca's managed service accounts: a pipeline with ``roles`` runs its automated triggers as
    ``<pipelineId>@managed-service-account`` (memberOf = the roles). Only a caller holding all the roles (the new
    ones and the stored pipeline's) or an admin may save it. Returns the config to save (with an id)."""
    import uuid

    if not guard.enabled:
        return config
    roles = config.get("roles")
    if roles is None or roles == []:
        held = rules.normalize_roles((previous or {}).get("roles") or [])
        _check_holds(guard, held)
        return config
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ApiError(400, "roles must be a list of role names", field="roles")
    wanted = rules.normalize_roles(roles)
    _check_holds(guard, wanted | rules.normalize_roles((previous or {}).get("roles") or []))
    doc = dict(config)
    if not doc.get("id"):
        doc["id"] = str(uuid.uuid4())
        # a new id: cron triggers copied from another pipeline get ids of their own (as the store gives new ones)
        doc["triggers"] = [
            {k: v for k, v in t.items() if not (k == "id" and str(t.get("type", "")).lower() == "cron")}
            if isinstance(t, dict)
            else t
            for t in doc.get("triggers") or []
        ]
    name = f"{doc['id']}{MANAGED_SUFFIX}".lower()
    _claim_managed_account(guard, name, str(doc["id"]), wanted)
    doc["triggers"] = [
        {**t, "runAsUser": name} if isinstance(t, dict) and t.get("type") != "manual" else t
        for t in doc.get("triggers") or []
    ]
    return doc


def _claim_managed_account(guard: Guard, name: str, pipeline_id: str, roles: frozenset[str]) -> None:
    """Save the pipeline's managed service account; it belongs to exactly one pipeline (``managedBy``), so a
    pipeline whose id only looks like another's can never take the other's account over (409 naming roles)."""
    from core.store import NotFoundError

    try:
        existing = guard.store.service_accounts.get(name)
    except NotFoundError:
        existing = None
    owner = (existing or {}).get("managedBy")
    if existing is not None and owner is not None and owner != pipeline_id:
        raise ApiError(
            409, f"roles: the service account {name} is managed by pipeline {owner}, not {pipeline_id}", field="roles"
        )
    guard.store.service_accounts.save({"name": name, "memberOf": sorted(roles), "managedBy": pipeline_id})


def _check_holds(guard: Guard, roles: frozenset[str]) -> None:
    missing = sorted(roles - rules.caller_roles(guard.principal))
    if missing and not guard.principal.admin:
        raise forbidden(
            f"Access denied: {guard.principal.name} does not hold the pipeline's roles ({', '.join(missing)})",
            field="roles",
        )
