"""Pipeline and strategy configs (Front50 behind Gate). Saving is synchronous: no Orca task to poll."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, BackgroundTasks, Body, Query, Request, Response

from core.errors import EngineError
from core.settings import Settings
from core.store.changes import configs_scope

from .. import cache
from ..auth.enforce import READ, WRITE, Guard, GuardDep
from ..deps import ClientDep, SettingsDep, StoreDep, UserDep
from ..errors import bad_request
from ..executions import json_list
from ..models import BulkSaveResult, PipelineConfig, ReorderRequest, document

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.store import Store

router = APIRouter(tags=["pipeline configs"])
log = logging.getLogger(__name__)

Json = dict[str, Any]
CONFIG: dict[str, Any] = {"response_model": PipelineConfig, "response_model_exclude_unset": True}
CONFIGS: dict[str, Any] = {"response_model": list[PipelineConfig], "response_model_exclude_unset": True}


def _body(config: Any) -> Json:
    if not isinstance(config, dict):
        raise bad_request(f"the body must be a pipeline config (a JSON object), got {type(config).__name__}")
    return config


def _validate(config: Json, settings: Settings | None = None) -> None:
    """The checks Gennaker makes on save: types, the stage graph, and that every cron trigger can be
    scheduled exactly. Unknown stage types are kept (refused when they would start)."""
    from integrations.triggers.cron import CronError
    from integrations.triggers.schedules import check_cron_triggers
    from templates.stored import check_templated
    from workflows.config import PipelineConfig
    from workflows.graph import StageGraph

    if not check_templated(config):  # MPTv2: a templated config's own fields here, its stages once rendered
        StageGraph.build(PipelineConfig.parse(config).stages)
    try:
        check_cron_triggers(config, settings.cron_timezone if settings is not None else "America/Los_Angeles")
    except CronError as err:
        raise bad_request(str(err), field=str(err).split(":", 1)[0]) from None


async def _schedule(client: Client, settings: Settings, pipeline: Json, store: Store) -> None:
    """Bring the pipeline's cron Schedules in line with the store (re-read there, so concurrent saves through
    other API processes converge). The save stands if Temporal cannot be reached (logged); the API's start-up
    reconciliation catches up."""
    from integrations.triggers import schedules

    try:
        await schedules.sync_pipeline(client, settings, pipeline, schedules.store_loader(store))
    except Exception as err:  # noqa: BLE001 - logged; reconciled at start-up
        log.warning("pipeline %s: could not sync its cron schedules: %s", pipeline.get("id"), err)


def _has_cron(pipeline: Json) -> bool:
    from integrations.triggers.schedules import cron_triggers

    return bool(cron_triggers(pipeline))


def _redacted(settings: Settings, config: Any) -> Any:
    """What a read answers: git trigger secrets and ``auth.secret_fields`` replaced by the placeholder."""
    from ..auth.redaction import redact

    return redact(config, settings.auth.secret_fields)


def _redacted_all(settings: Settings, configs: list[Json]) -> list[Json]:
    from ..auth.redaction import redact_all

    return redact_all(configs, settings.auth.secret_fields)


async def _keep_secrets(store: Store, settings: Settings, config: Json, kind: str) -> Json:
    """The config to store: placeholders sent back take the stored secrets, and webhook stages' header values
    are sealed (they travel into Temporal's history with every execution)."""
    from core.sealing import seal_config
    from core.store import NotFoundError

    from ..auth.redaction import restore

    previous: Json | None = None
    if isinstance(config.get("id"), str) and config["id"]:
        try:
            previous = await asyncio.to_thread(store.pipelines.get, config["id"], kind)
        except NotFoundError:
            previous = None
    restored = restore(config, previous, settings.auth.secret_fields)
    return seal_config(settings, restored)  # type: ignore[no-any-return]


async def _authorize_save(guard: Guard, store: Store, config: Json, kind: str = "pipeline") -> Json:
    """WRITE on the application (and on the stored one's, when it moves); the triggers' runAsUser and the
    pipeline's roles (managed service account). Returns the config to save."""
    from core.store import NotFoundError
    from core.store.dinghy import refuse_locked_edit

    from ..auth.enforce import MANAGED_SUFFIX, apply_managed_service_account, check_run_as_users

    if isinstance(config.get("id"), str) and config["id"]:  # before a managed service account is named after it
        await asyncio.to_thread(store.pipelines.check_id, config["id"], kind)
    await asyncio.to_thread(refuse_locked_edit, store, config, kind)  # Dinghy's lock: only an unlocking save passes
    if not guard.enabled:
        return config
    await guard.app(config.get("application"), WRITE)
    previous: Json | None = None
    if isinstance(config.get("id"), str) and config["id"]:
        try:
            previous = await asyncio.to_thread(store.pipelines.get, config["id"], kind)
        except NotFoundError:
            previous = None
    if previous is not None and previous.get("application") != config.get("application"):
        await guard.app(previous.get("application"), WRITE)
    if kind != "pipeline":
        await asyncio.to_thread(check_run_as_users, guard, config)
        return config
    saved = await asyncio.to_thread(apply_managed_service_account, guard, config, previous)
    managed = f"{saved['id']}{MANAGED_SUFFIX}".lower() if saved.get("roles") else None
    await asyncio.to_thread(check_run_as_users, guard, saved, managed)
    return saved


@router.post("/pipelines", **CONFIG)
async def save_pipeline(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    user: UserDep,
    guard: GuardDep,
    background: BackgroundTasks,
    body: PipelineConfig = Body(...),
    staleCheck: bool = Query(False),  # noqa: N803 - Gate's parameter name
) -> Json:
    config = document(body)
    _validate(config, settings)
    config = await _authorize_save(guard, store, config)
    config = await _keep_secrets(store, settings, config, "pipeline")
    saved: Json = await asyncio.to_thread(store.pipelines.save, config, user, stale_check=staleCheck)
    await _after_save(client, settings, saved, background, store)
    return _redacted(settings, saved)  # type: ignore[no-any-return]


async def _after_save(
    client: Client, settings: Settings, saved: Json, background: BackgroundTasks, store: Store
) -> None:
    # With cron triggers the answer waits for the Schedules (they exist when the save returns); without,
    # removing ones the pipeline may have had before happens after the answer, keeping saves fast.
    from templates.stored import template_state

    await asyncio.to_thread(template_state, store, saved)  # MPTv2: the answer says when it cannot render
    if _has_cron(saved):
        await _schedule(client, settings, saved, store)
    else:
        background.add_task(_schedule, client, settings, saved, store)


@router.post("/pipelines/bulksave", response_model=BulkSaveResult)
async def bulksave(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    user: UserDep,
    guard: GuardDep,
    background: BackgroundTasks,
    pipelines: Any = Body(
        ..., json_schema_extra={"type": "array", "items": {"$ref": "#/components/schemas/PipelineConfig"}}
    ),
    application: str = "bulk_save_placeholder_app",
    staleCheck: bool = Query(False),  # noqa: N803
) -> Json:
    """Save many configs; each is validated and saved on its own (one bad config does not stop the others),
    and the answer counts both, as Front50's batch update does. ``application`` only names Orca's task there."""
    from core.errors import ApiError
    from core.store import StoreError

    if not isinstance(pipelines, list):
        raise bad_request("the body must be a list of pipeline configs")
    saved: list[str] = []
    failed: list[Json] = []
    for i, config in enumerate(pipelines):
        try:
            config = _body(config)
            _validate(config, settings)
            config = await _authorize_save(guard, store, config)
            config = await _keep_secrets(store, settings, config, "pipeline")
            doc = await asyncio.to_thread(store.pipelines.save, config, user, stale_check=staleCheck)
            await _after_save(client, settings, doc, background, store)
            saved.append(doc["name"])
        except (ApiError, StoreError, EngineError) as err:
            message = getattr(err, "message", None) or str(err)
            failed.append(
                {**_redacted(settings, config), "errorMsg": message}
                if isinstance(config, dict)
                else {"index": i, "errorMsg": message}
            )
    return {
        "successful_pipelines_count": len(saved),
        "successful_pipelines": saved,
        "failed_pipelines_count": len(failed),
        "failed_pipelines": failed,
    }


@router.put("/pipelines/{pipeline_id}", **CONFIG)
async def update_pipeline(
    pipeline_id: str,
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    user: UserDep,
    guard: GuardDep,
    background: BackgroundTasks,
    body: PipelineConfig = Body(...),
) -> Json:
    config = document(body)
    if config.get("id") not in (None, pipeline_id):
        raise bad_request(f"the body's id {config.get('id')!r} does not match the path's {pipeline_id!r}", field="id")
    await asyncio.to_thread(store.pipelines.get, pipeline_id)  # 404 when there is none
    _validate(config, settings)
    config = await _authorize_save(guard, store, {**config, "id": pipeline_id})
    config = await _keep_secrets(store, settings, config, "pipeline")
    saved: Json = await asyncio.to_thread(store.pipelines.save, config, user)
    await _after_save(client, settings, saved, background, store)
    return _redacted(settings, saved)  # type: ignore[no-any-return]


@router.delete("/pipelines/{application}/{name}")
async def delete_pipeline(
    application: str, name: str, store: StoreDep, client: ClientDep, settings: SettingsDep, guard: GuardDep
) -> None:
    from core.store.dinghy import refuse_locked_delete
    from integrations.triggers.schedules import remove_pipeline, store_loader

    await guard.app(application, WRITE)

    pipeline: Json = await asyncio.to_thread(store.pipelines.get_by_name, application, name)
    refuse_locked_delete(pipeline)  # Dinghy's lock covers deletes too
    await asyncio.to_thread(store.pipelines.delete, application, name)
    try:
        await remove_pipeline(client, str(pipeline.get("id")), settings, store_loader(store))
    except Exception as err:  # noqa: BLE001 - logged; reconciled at start-up
        log.warning("pipeline %s: could not delete its cron schedules: %s", pipeline.get("id"), err)


@router.get("/applications/{application}/pipelineConfigs", **CONFIGS)
async def app_pipeline_configs(
    application: str,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    request: Request,
    pipelineNameFilter: str | None = None,  # noqa: N803
) -> Response:
    await guard.app(application, READ)

    async def compute() -> Response:
        configs: list[Json] = await asyncio.to_thread(store.pipelines.all, application)
        if pipelineNameFilter:
            configs = [c for c in configs if pipelineNameFilter.lower() in str(c.get("name", "")).lower()]
        return json_list(_redacted_all(settings, configs))  # stored configs were validated when saved

    # the same for every caller allowed to READ (checked above): cached per process, validated per request
    key = f"{application}\0{(pipelineNameFilter or '').lower()}"
    return await cache.answer(request, store, configs_scope(application), key, compute)


@router.get("/applications/{application}/pipelineConfigs/{name}", **CONFIG)
async def app_pipeline_config(
    application: str, name: str, store: StoreDep, settings: SettingsDep, guard: GuardDep
) -> Json:
    await guard.app(application, READ)
    found = await asyncio.to_thread(store.pipelines.get_by_name, application, name)
    return _redacted(settings, found)  # type: ignore[no-any-return]


@router.get("/pipelineConfigs", **CONFIGS)
async def all_pipeline_configs(store: StoreDep, settings: SettingsDep, guard: GuardDep) -> Response:
    return json_list(_redacted_all(settings, await guard.keep_apps(await asyncio.to_thread(store.pipelines.all))))


@router.get("/pipelineConfigs/{pipeline_id}/history", **CONFIGS)
async def pipeline_history(
    pipeline_id: str, store: StoreDep, settings: SettingsDep, guard: GuardDep, limit: int = Query(20, ge=1, le=1000)
) -> list[Json]:
    history: list[Json] = await asyncio.to_thread(store.pipelines.history, pipeline_id, limit=limit)
    for application in sorted({str(h.get("application")) for h in history}):
        await guard.app(application, READ)
    return _redacted_all(settings, history)


@router.post("/actions/pipelines/reorder")
async def reorder(store: StoreDep, guard: GuardDep, request: ReorderRequest = Body(...)) -> None:
    body = document(request)
    application, ids = body.get("application"), body.get("idsToIndices")
    if not isinstance(application, str) or not application:
        raise bad_request("application is required", field="application")
    if not isinstance(ids, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in ids.values()):
        raise bad_request("idsToIndices must map pipeline ids to integer positions", field="idsToIndices")
    await guard.app(application, WRITE)
    await asyncio.to_thread(store.pipelines.reorder, application, ids)


# ---- strategies: the same documents, stored apart ------------------------------------------------------------


@router.post("/strategies", **CONFIG)
async def save_strategy(
    store: StoreDep, settings: SettingsDep, user: UserDep, guard: GuardDep, body: PipelineConfig = Body(...)
) -> Json:
    config = document(body)
    _validate(config, settings)
    config = await _authorize_save(guard, store, config, kind="strategy")
    config = await _keep_secrets(store, settings, config, "strategy")
    saved = await asyncio.to_thread(store.pipelines.save, config, user, kind="strategy")
    return _redacted(settings, saved)  # type: ignore[no-any-return]


@router.delete("/strategies/{application}/{name}")
async def delete_strategy(application: str, name: str, store: StoreDep, guard: GuardDep) -> None:
    await guard.app(application, WRITE)
    await asyncio.to_thread(store.pipelines.delete, application, name, kind="strategy")


@router.get("/applications/{application}/strategyConfigs", **CONFIGS)
async def app_strategy_configs(application: str, store: StoreDep, settings: SettingsDep, guard: GuardDep) -> list[Json]:
    await guard.app(application, READ)
    return _redacted_all(settings, await asyncio.to_thread(store.pipelines.all, application, kind="strategy"))


@router.get("/applications/{application}/strategyConfigs/{name}", **CONFIG)
async def app_strategy_config(
    application: str, name: str, store: StoreDep, settings: SettingsDep, guard: GuardDep
) -> Json:
    await guard.app(application, READ)
    found = await asyncio.to_thread(store.pipelines.get_by_name, application, name, kind="strategy")
    return _redacted(settings, found)  # type: ignore[no-any-return]
