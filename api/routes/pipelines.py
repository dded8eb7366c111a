"""Starting executions: Gate's trigger endpoints (v1, v2, ad-hoc) and orchestrations (``POST /tasks``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body

from core.ids import new_ulid
from core.parameters import missing_required, with_defaults
from core.settings import Settings
from workflows import operations

from ..auth.enforce import EXECUTE, Guard, GuardDep
from ..deps import ClientDep, SettingsDep, StoreDep
from ..errors import bad_request
from ..models import AdHocPipeline, EventRef, ExecutionRef, ManualTrigger, document

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.store import Store

router = APIRouter(tags=["executions"])
Json = dict[str, Any]


def _trigger(config: Json, body: Any, user: str, *, enforce: bool = True) -> Json:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad_request("the trigger must be a JSON object")
    params = body.get("parameters", {})
    if params is not None and not isinstance(params, dict):
        raise bad_request("parameters must be an object", field="parameters")
    if enforce:
        _own_fields(body, user)
        trigger: Json = {**body, "type": "manual", "user": user}
    else:  # Fiat off: nobody is anybody, and the body's labels are kept as Gate keeps them
        trigger = {"type": "manual", "user": user, **body}
    trigger["parameters"] = with_defaults(config, params)
    for p in config.get("parameterConfig") or []:
        if isinstance(p, dict) and p.get("hasOptions") and p.get("options") and p.get("name") in trigger["parameters"]:
            allowed = [o.get("value") for o in p["options"] if isinstance(o, dict)]
            value = trigger["parameters"][p["name"]]
            if allowed and value not in allowed and any(a not in (None, "") for a in allowed):
                raise bad_request(
                    f"parameter {p['name']} must be one of {', '.join(map(str, allowed))}, got {value!r}",
                    field=f"parameters.{p['name']}",
                )
    missing = missing_required(config, trigger["parameters"])
    if missing:
        raise bad_request(f"Required parameter {missing[0]} is missing", field=f"parameters.{missing[0]}")
    return trigger


def _own_fields(body: Json, user: str, where: str = "") -> None:
    """With Fiat on, the API sets a manual trigger's ``type`` and ``user`` (the caller): a body naming others is
    refused rather than believed. With Fiat off there is no caller to protect, and Gate keeps the body's ``user``
    (``trigger.user ?: the authenticated user``), so existing clients that label their triggers keep working."""
    given_type = body.get("type")
    if given_type is not None and str(given_type).strip().lower() != "manual":
        field = f"{where}type"
        raise bad_request(f"{field}: a trigger started through the API is 'manual', not {given_type!r}", field=field)
    given_user = body.get("user")
    if given_user is not None and str(given_user).strip().lower() != user.strip().lower():
        field = f"{where}user"
        raise bad_request(f"{field}: the trigger's user is the caller ({user}), not {given_user!r}", field=field)


def manual_trigger(body: Any, user: str, where: str = "trigger.", *, enforce: bool = True) -> Json:
    """An orchestration's trigger: the body's fields, with ``type`` manual and ``user`` the caller (Fiat on)."""
    if body is None:
        return {"type": "manual", "user": user}
    if not isinstance(body, dict):
        raise bad_request(f"{where.rstrip('.')} must be a JSON object", field=where.rstrip("."))
    if not enforce:
        return {"type": "manual", "user": user, **body}
    _own_fields(body, user, where)
    return {**body, "type": "manual", "user": user}


async def _config(store: Store, application: str, name_or_id: str) -> Json:
    from core.store import NotFoundError

    try:
        config: Json = await asyncio.to_thread(store.pipelines.get_by_name, application, name_or_id)
        return config
    except NotFoundError:
        pass
    try:
        config = await asyncio.to_thread(store.pipelines.get, name_or_id)
    except NotFoundError:
        raise NotFoundError(f"no pipeline '{name_or_id}' in application '{application}'") from None
    if config.get("application") != application:
        raise NotFoundError(f"no pipeline '{name_or_id}' in application '{application}'")
    return config


async def _start(
    client: Client,
    settings: Settings,
    config: Json,
    trigger: Json,
    *,
    execution_id: str | None = None,
    origin: str = "api",
    type: str = "PIPELINE",
    user: str = "anonymous",
    authentication: Json | None = None,
) -> str:
    from core.sealing import seal_config

    return await operations.start_pipeline(
        client,
        seal_config(settings, config),  # webhook headers never reach Temporal's history in clear text
        trigger,
        task_queue=settings.task_queue,
        execution_id=execution_id,
        type=type,
        origin=origin,
        authentication=authentication or {"user": user, "allowedAccounts": []},
        window_timezone=settings.execution_window_timezone,
        activity_queues=settings.activity_queues,
    )


async def _trigger_saved(
    client: Client,
    store: Store,
    settings: Settings,
    guard: Guard,
    application: str,
    name_or_id: str,
    body: Any,
    execution_id: str | None = None,
) -> str:
    user = guard.principal.name
    await guard.app(application, EXECUTE)
    from templates.stored import rendered_for_start

    config = await asyncio.to_thread(rendered_for_start, store, await _config(store, application, name_or_id))
    if config.get("disabled") in (True, "true"):
        raise bad_request(f"pipeline '{config.get('name')}' is disabled")
    trigger = _trigger(config, body, user, enforce=settings.auth.enabled)
    return await _start(
        client,
        settings,
        config,
        trigger,
        execution_id=execution_id,
        user=user,
        authentication=await guard.authentication_off_loop(),
    )


@router.post("/pipelines/{application}/{name_or_id}", status_code=202, response_model=ExecutionRef)
async def trigger(
    application: str,
    name_or_id: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    trigger: ManualTrigger | None = Body(None),
) -> Json:
    body = None if trigger is None else document(trigger)
    execution_id = await _trigger_saved(client, store, settings, guard, application, name_or_id, body)
    return {"ref": f"/pipelines/{execution_id}"}


@router.post("/pipelines/v2/{application}/{name_or_id}", status_code=202, response_model=EventRef)
async def trigger_v2(
    application: str,
    name_or_id: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    trigger: ManualTrigger | None = Body(None),
) -> Json:
    body = None if trigger is None else document(trigger)
    event_id = str(uuid.uuid4())
    if body is None or isinstance(body, dict):  # anything else is refused, with a message, by _trigger
        body = {"eventId": event_id, **(body or {})}
        event_id = body["eventId"]
    execution_id = await _trigger_saved(client, store, settings, guard, application, name_or_id, body, new_ulid())
    return {"eventId": event_id, "ref": f"/pipelines/{execution_id}"}


@router.post("/pipelines/start", status_code=202, response_model=ExecutionRef)
async def start_adhoc(
    client: ClientDep, settings: SettingsDep, guard: GuardDep, store: StoreDep, pipeline: AdHocPipeline = Body(...)
) -> Json:
    config = document(pipeline)
    if not config.get("application"):
        raise bad_request("application is required", field="application")
    await guard.app(config["application"], EXECUTE)
    from templates.stored import rendered_for_start

    config = await asyncio.to_thread(rendered_for_start, store, config)  # MPTv2: an ad-hoc templated pipeline
    user = guard.principal.name
    trigger = _trigger(config, config.get("trigger"), user, enforce=settings.auth.enabled)
    execution_id = await _start(
        client, settings, config, trigger, user=user, authentication=await guard.authentication_off_loop()
    )
    return {"ref": f"/pipelines/{execution_id}"}
