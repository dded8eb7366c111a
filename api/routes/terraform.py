"""Terraform's ``http`` state backend, served from Gennaker's store per application and workspace, with Fiat's
permissions: READ on the application to read a state (its versions, its outputs, its lock), WRITE to write,
delete, lock, unlock and force-unlock it.

terraform sends ``Authorization: Basic`` (its backend's ``username``/``password``): the password is taken as a
Gennaker API token, so ``TF_HTTP_PASSWORD=gnk_...`` authenticates terraform like ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from core.auth.principal import Principal

from ..auth.enforce import READ, WRITE, Guard
from ..deps import get_principal
from ..errors import ApiError, bad_request, not_found
from ..models.base import document
from ..models.terraform import (
    ForceUnlock,
    LockInfo,
    LockState,
    Output,
    Released,
    StateDeleted,
    StateVersion,
    StateVersionWithBody,
)

if TYPE_CHECKING:
    from core.store import Store
    from core.store.terraform import TerraformStore

router = APIRouter(tags=["terraform"])
Json = dict[str, Any]
STATE = "/terraform/state/{application}/{workspace}"
#: terraform's answer when another lock id holds the state
LOCKED: dict[int | str, dict[str, Any]] = {
    423: {"description": "Locked by another lock id; the body is the holder's lock info", "model": LockInfo}
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,89}$")


def _basic(request: Request) -> None:
    """terraform's Basic credential: its password is read as an API token (runs before the caller is resolved)."""
    from ..auth.authenticate import AuthenticationError, authenticator
    from ..auth.forwarded import peer_of

    header = request.headers.get("authorization", "")
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "basic" or not request.app.state.settings.auth.enabled:
        return
    try:
        _, _, password = base64.b64decode(credential.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(401, "authentication failed: the Basic credential is not valid base64") from None
    try:
        request.state.principal = authenticator(request.app).authenticate(
            {"authorization": f"Bearer {password}"}, peer_of(request.scope), request.app.state.store
        )
    except AuthenticationError as err:
        raise ApiError(401, f"authentication failed: {err}") from None


def _caller(
    request: Request, _: Annotated[None, Depends(_basic)], principal: Annotated[Principal, Depends(get_principal)]
) -> Guard:
    return Guard(principal, request.app.state.settings, request.app.state.store)


CallerDep = Annotated[Guard, Depends(_caller)]


def _names(application: str, workspace: str) -> tuple[str, str]:
    if not _NAME.match(application):
        raise bad_request(f"application {application!r} is not an application name", field="application")
    if not _NAME.match(workspace):
        raise bad_request(
            f"workspace {workspace!r} is not a workspace name (letters, digits, _ . -)", field="workspace"
        )
    return application.lower(), workspace


def _states(request: Request) -> TerraformStore:
    store: Store = request.app.state.store
    return store.terraform


def _locked(lock: Json) -> Response:
    """terraform reads the holder's lock info from a 423's body and shows it."""
    return Response(json.dumps(lock), status_code=423, media_type="application/json")


async def _body_json(request: Request, field: str) -> Json:
    raw = await request.body()
    try:
        doc = json.loads(raw) if raw.strip() else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise bad_request(f"{field} must be a JSON object", field=field)
    return doc


@router.get(STATE)
async def get_state(application: str, workspace: str, request: Request, guard: CallerDep) -> Response:
    app, ws = _names(application, workspace)
    await guard.app(app, READ)
    state = await asyncio.to_thread(_states(request).get_state, app, ws)
    if state is None:  # terraform reads a 404 as "no state yet"
        raise not_found(f"no state {app}/{ws}")
    return Response(state["body"], media_type="application/json")


@router.post(STATE, responses=LOCKED, response_model=StateVersion)
async def put_state(application: str, workspace: str, request: Request, guard: CallerDep) -> Response:
    from core.store.terraform import StateLocked

    app, ws = _names(application, workspace)
    await guard.app(app, WRITE)
    state = await _body_json(request, "body")
    if not isinstance(state.get("version"), int) or not isinstance(state.get("serial"), int):
        raise bad_request("body must be a terraform state (with version and serial)", field="body")
    lock_id = request.query_params.get("ID")
    execution = request.query_params.get("execution")
    body = json.dumps(state)
    try:
        saved = await asyncio.to_thread(
            _states(request).put_state,
            app,
            ws,
            body,
            lock_id=lock_id,
            execution_id=execution,
            user=guard.principal.name,
        )
    except StateLocked as err:
        return _locked(err.lock)
    return JSONResponse(saved)


@router.delete(STATE, responses=LOCKED, response_model=StateDeleted)
async def delete_state(application: str, workspace: str, request: Request, guard: CallerDep) -> Response:
    from core.store.terraform import StateLocked

    app, ws = _names(application, workspace)
    await guard.app(app, WRITE)
    try:
        await asyncio.to_thread(
            _states(request).delete_state, app, ws, lock_id=request.query_params.get("ID"), user=guard.principal.name
        )
    except StateLocked as err:
        return _locked(err.lock)
    return JSONResponse({"deleted": True})


@router.api_route(STATE, methods=["LOCK"], responses=LOCKED, response_model=LockState)
async def lock_state(application: str, workspace: str, request: Request, guard: CallerDep) -> Response:
    from core.store.terraform import StateLocked

    app, ws = _names(application, workspace)
    await guard.app(app, WRITE)
    info = await _body_json(request, "body")
    if not isinstance(info.get("ID"), str) or not info["ID"]:
        raise bad_request("the lock info needs its ID", field="ID")
    try:
        await asyncio.to_thread(_states(request).lock, app, ws, info)
    except StateLocked as err:
        return _locked(err.lock)
    return JSONResponse({"locked": True, "lock": info})


@router.api_route(STATE, methods=["UNLOCK"], responses=LOCKED, response_model=LockState)
async def unlock_state(application: str, workspace: str, request: Request, guard: CallerDep) -> Response:
    from core.store.terraform import StateLocked

    app, ws = _names(application, workspace)
    await guard.app(app, WRITE)
    info = await _body_json(request, "body")
    try:
        await asyncio.to_thread(_states(request).unlock, app, ws, str(info.get("ID") or ""))
    except StateLocked as err:
        return _locked(err.lock)
    return JSONResponse({"locked": False})


@router.get(STATE + "/lock", response_model=LockState, response_model_exclude_unset=True)
async def get_lock(application: str, workspace: str, request: Request, guard: CallerDep) -> Json:
    """``{"locked": bool, "lock": <terraform's lock info>}``."""
    app, ws = _names(application, workspace)
    await guard.app(app, READ)
    lock = await asyncio.to_thread(_states(request).get_lock, app, ws)
    return {"locked": lock is not None, "lock": lock}


@router.post(STATE + "/force-unlock", response_model=Released, response_model_exclude_unset=True)
async def force_unlock(
    application: str,
    workspace: str,
    request: Request,
    guard: CallerDep,
    body: Annotated[ForceUnlock | None, Body()] = None,
) -> Json:
    """The operator's ``terraform force-unlock``: release the lock whose id is given (a stale one, after a
    worker died mid-apply). The id must be the lock's, so a lock taken since is never released by mistake."""
    from core.store.terraform import StateLocked

    app, ws = _names(application, workspace)
    await guard.app(app, WRITE)
    lock_id = document(body).get("id") if body is not None else None
    if not isinstance(lock_id, str) or not lock_id.strip():
        raise bad_request("give the id of the lock to release", field="id")
    try:
        released = await asyncio.to_thread(_states(request).unlock, app, ws, lock_id.strip(), force=True)
    except StateLocked as err:
        raise ApiError(409, f"the state is locked by another lock id ({err.lock.get('ID')})", field="id") from None
    if released is None:
        raise not_found(f"state {app}/{ws} is not locked")
    return {"released": released}


@router.get(STATE + "/versions", response_model=list[StateVersion], response_model_exclude_unset=True)
async def list_versions(application: str, workspace: str, request: Request, guard: CallerDep) -> list[Json]:
    """Every version of the state, newest first, each with the execution that wrote it."""
    app, ws = _names(application, workspace)
    await guard.app(app, READ)
    return await asyncio.to_thread(_states(request).versions, app, ws)


@router.get(STATE + "/versions/{version}", response_model=StateVersionWithBody, response_model_exclude_unset=True)
async def get_version(application: str, workspace: str, version: int, request: Request, guard: CallerDep) -> Json:
    from core.store import NotFoundError

    app, ws = _names(application, workspace)
    await guard.app(app, READ)
    try:
        doc: Json = await asyncio.to_thread(_states(request).get_version, app, ws, version)
    except NotFoundError as err:
        raise not_found(str(err)) from None
    body = doc.pop("body")
    doc["state"] = json.loads(body) if body else None
    return doc


@router.get(STATE + "/outputs", response_model=dict[str, Output], response_model_exclude_unset=True)
async def get_outputs(application: str, workspace: str, request: Request, guard: CallerDep) -> Json:
    """The state's outputs as ``terraform output -json`` shows them (sensitive values hidden)."""
    from integrations.terraform.plans import outputs

    app, ws = _names(application, workspace)
    await guard.app(app, READ)
    state = await asyncio.to_thread(_states(request).get_state, app, ws)
    if state is None:
        raise not_found(f"no state {app}/{ws}")
    return outputs(json.loads(state["body"]).get("outputs") or {})
