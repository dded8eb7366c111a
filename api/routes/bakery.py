"""Gate's bakery endpoints (Rosco behind Gate): bake options from the image config, and bake logs."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Response

from ..auth.enforce import READ, Guard, GuardDep
from ..deps import SettingsDep, StoreDep
from ..errors import ApiError
from ..models.bakery import BakeOptions

if TYPE_CHECKING:
    from core.store import Store

router = APIRouter(tags=["bakery"])


def _not_found(err: Exception) -> ApiError:
    return ApiError(404, str(err))


@router.get("/bakery/options", response_model=list[BakeOptions], response_model_exclude_unset=True)
def bake_options(settings: SettingsDep) -> Any:
    from bakery import api as rosco

    return rosco.options(settings.bakery)


@router.get("/bakery/options/{cloud_provider}", response_model=BakeOptions, response_model_exclude_unset=True)
def bake_options_for(cloud_provider: str, settings: SettingsDep) -> Any:
    from bakery import api as rosco
    from bakery.errors import BakeOptionsNotFoundError

    try:
        return rosco.options(settings.bakery, cloud_provider)
    except BakeOptionsNotFoundError as err:
        raise _not_found(err) from None


@router.get(
    "/bakery/logs/{region}/{status_id}",
    # the log is text; errors stay Gate's JSON body, as on every route
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "The packer output"}},
)
async def bake_logs(region: str, status_id: str, settings: SettingsDep, store: StoreDep, guard: GuardDep) -> Response:
    """The bake's packer output, as Gate wraps it (``<pre>...</pre>``). With authentication on, the caller
    must READ the application of an execution that asked for the bake (and its account)."""
    from bakery import api as rosco
    from bakery.errors import BakeNotFoundError

    if guard.enabled:
        await _check_bake_reader(guard, store, status_id)
    try:
        text = await asyncio.to_thread(rosco.logs, settings.state_dir, status_id, store)
    except BakeNotFoundError as err:
        raise _not_found(err) from None
    return Response(text, media_type="text/plain")


async def _check_bake_reader(guard: Guard, store: Store, status_id: str) -> None:
    """The log holds what packer printed with the bakery's credentials: READ on the application of one of
    the executions that requested the bake (admins: any), and READ on the bake's account."""
    from core.store import NotFoundError

    bake = await asyncio.to_thread(store.bakes.get, status_id)
    if bake is None:
        raise _not_found(Exception(f"no bake log for '{status_id}'"))
    account = (bake.get("request") or {}).get("account")
    if isinstance(account, str) and account:
        guard.account(account, READ)
    if guard.principal.admin:
        return
    applications = []
    for requester in bake.get("requestedBy") or []:
        execution_id = str(requester).split("/", 1)[0]
        try:
            execution = await asyncio.to_thread(store.executions.get, execution_id)
        except NotFoundError:
            continue
        applications.append(execution.get("application"))
        if await guard.app_allows(execution.get("application"), READ):
            return
    named = ", ".join(sorted({str(a) for a in applications if a})) or "no execution that still exists"
    raise ApiError(
        403,
        f"Access denied: {guard.principal.name} does not have READ permission on the application of bake"
        f" '{status_id}' (requested by {named})",
    )
