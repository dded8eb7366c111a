"""Pipeline and strategy configs (Front50 behind Gate). Saving is synchronous: no Orca task to poll."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Body, Query

from workflows.errors import GennakerError

from ..deps import ClientDep, SettingsDep, StoreDep, UserDep
from ..errors import bad_request

router = APIRouter(tags=["pipeline configs"])
log = logging.getLogger(__name__)

Json = dict[str, Any]


def _body(config: Any) -> Json:
    if not isinstance(config, dict):
        raise bad_request(f"the body must be a pipeline config (a JSON object), got {type(config).__name__}")
    return config


def _validate(config: Json, settings: Any = None) -> None:
    """The checks Gennaker makes on save: types, the stage graph, and that every cron trigger can be
    scheduled exactly. Unknown stage types are kept (refused when they would start)."""
    from integrations.triggers.cron import CronError
    from integrations.triggers.schedules import check_cron_triggers
    from workflows.config import PipelineConfig
    from workflows.graph import StageGraph

    StageGraph.build(PipelineConfig.parse(config).stages)
    try:
        check_cron_triggers(config, settings.cron_timezone if settings is not None else "America/Los_Angeles")
    except CronError as err:
        raise bad_request(str(err), field=str(err).split(":", 1)[0]) from None


async def _schedule(client: Any, settings: Any, pipeline: Json) -> None:
    """Bring the pipeline's cron Schedules in line with it. The save stands if Temporal cannot be
    reached (logged); the API's start-up reconciliation catches up."""
    from integrations.triggers import schedules

    try:
        if schedules.cron_triggers(pipeline):
            await schedules.sync_pipeline(client, settings, pipeline)
        else:  # none now; delete any it had before
            await schedules.remove_pipeline(client, str(pipeline.get("id")))
    except Exception as err:  # noqa: BLE001 - logged; reconciled at start-up
        log.warning("pipeline %s: could not sync its cron schedules: %s", pipeline.get("id"), err)


def _has_cron(pipeline: Json) -> bool:
    from integrations.triggers.schedules import cron_triggers

    return bool(cron_triggers(pipeline))


@router.post("/pipelines")
async def save_pipeline(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    user: UserDep,
    background: BackgroundTasks,
    config: Any = Body(...),
    staleCheck: bool = Query(False),  # noqa: N803 - Gate's parameter name
) -> Json:
    config = _body(config)
    _validate(config, settings)
    saved: Json = await asyncio.to_thread(store.save_pipeline, config, user, stale_check=staleCheck)
    await _after_save(client, settings, saved, background)
    return saved


async def _after_save(client: Any, settings: Any, saved: Json, background: BackgroundTasks) -> None:
    # With cron triggers the answer waits for the Schedules (they exist when the save returns); without,
    # removing ones the pipeline may have had before happens after the answer, keeping saves fast.
    if _has_cron(saved):
        await _schedule(client, settings, saved)
    else:
        background.add_task(_schedule, client, settings, saved)


@router.post("/pipelines/bulksave")
async def bulksave(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    user: UserDep,
    background: BackgroundTasks,
    pipelines: Any = Body(...),
    application: str = "bulk_save_placeholder_app",
    staleCheck: bool = Query(False),  # noqa: N803
) -> Json:
    """Save many configs; each is validated and saved on its own (one bad config does not stop the others),
    and the answer counts both, as Front50's batch update does. ``application`` only names Orca's task there."""
    from api.store import StoreError

    from ..errors import ApiError

    if not isinstance(pipelines, list):
        raise bad_request("the body must be a list of pipeline configs")
    saved: list[str] = []
    failed: list[Json] = []
    for i, config in enumerate(pipelines):
        try:
            config = _body(config)
            _validate(config, settings)
            doc = await asyncio.to_thread(store.save_pipeline, config, user, stale_check=staleCheck)
            await _after_save(client, settings, doc, background)
            saved.append(doc["name"])
        except (ApiError, StoreError, GennakerError) as err:
            message = getattr(err, "message", None) or str(err)
            failed.append(
                {**config, "errorMsg": message} if isinstance(config, dict) else {"index": i, "errorMsg": message}
            )
    return {
        "successful_pipelines_count": len(saved),
        "successful_pipelines": saved,
        "failed_pipelines_count": len(failed),
        "failed_pipelines": failed,
    }


@router.put("/pipelines/{pipeline_id}")
async def update_pipeline(
    pipeline_id: str,
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    user: UserDep,
    background: BackgroundTasks,
    config: Any = Body(...),
) -> Json:
    config = _body(config)
    if config.get("id") not in (None, pipeline_id):
        raise bad_request(f"the body's id {config.get('id')!r} does not match the path's {pipeline_id!r}", field="id")
    await asyncio.to_thread(store.get_pipeline, pipeline_id)  # 404 when there is none
    _validate(config, settings)
    saved: Json = await asyncio.to_thread(store.save_pipeline, {**config, "id": pipeline_id}, user)
    await _after_save(client, settings, saved, background)
    return saved


@router.delete("/pipelines/{application}/{name}")
async def delete_pipeline(application: str, name: str, store: StoreDep, client: ClientDep) -> None:
    from integrations.triggers.schedules import remove_pipeline

    pipeline: Json = await asyncio.to_thread(store.get_pipeline_by_name, application, name)
    await asyncio.to_thread(store.delete_pipeline, application, name)
    try:
        await remove_pipeline(client, str(pipeline.get("id")))
    except Exception as err:  # noqa: BLE001 - logged; reconciled at start-up
        log.warning("pipeline %s: could not delete its cron schedules: %s", pipeline.get("id"), err)


@router.get("/applications/{application}/pipelineConfigs")
def app_pipeline_configs(application: str, store: StoreDep, pipelineNameFilter: str | None = None) -> list[Json]:  # noqa: N803
    configs: list[Json] = store.list_pipelines(application)
    if pipelineNameFilter:
        configs = [c for c in configs if pipelineNameFilter.lower() in str(c.get("name", "")).lower()]
    return configs


@router.get("/applications/{application}/pipelineConfigs/{name}")
def app_pipeline_config(application: str, name: str, store: StoreDep) -> Json:
    return store.get_pipeline_by_name(application, name)  # type: ignore[no-any-return]


@router.get("/pipelineConfigs")
def all_pipeline_configs(store: StoreDep) -> list[Json]:
    return store.list_pipelines()  # type: ignore[no-any-return]


@router.get("/pipelineConfigs/{pipeline_id}/history")
def pipeline_history(pipeline_id: str, store: StoreDep, limit: int = Query(20, ge=1, le=1000)) -> list[Json]:
    return store.pipeline_history(pipeline_id, limit=limit)  # type: ignore[no-any-return]


@router.post("/actions/pipelines/reorder")
def reorder(store: StoreDep, body: Any = Body(...)) -> None:
    body = _body(body)
    application, ids = body.get("application"), body.get("idsToIndices")
    if not isinstance(application, str) or not application:
        raise bad_request("application is required", field="application")
    if not isinstance(ids, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in ids.values()):
        raise bad_request("idsToIndices must map pipeline ids to integer positions", field="idsToIndices")
    store.reorder_pipelines(application, ids)


# ---- strategies: the same documents, stored apart ------------------------------------------------------------


@router.post("/strategies")
def save_strategy(store: StoreDep, settings: SettingsDep, user: UserDep, config: Any = Body(...)) -> Json:
    config = _body(config)
    _validate(config, settings)
    return store.save_pipeline(config, user, kind="strategy")  # type: ignore[no-any-return]


@router.delete("/strategies/{application}/{name}")
def delete_strategy(application: str, name: str, store: StoreDep) -> None:
    store.delete_pipeline(application, name, kind="strategy")


@router.get("/applications/{application}/strategyConfigs")
def app_strategy_configs(application: str, store: StoreDep) -> list[Json]:
    return store.list_pipelines(application, kind="strategy")  # type: ignore[no-any-return]


@router.get("/applications/{application}/strategyConfigs/{name}")
def app_strategy_config(application: str, name: str, store: StoreDep) -> Json:
    return store.get_pipeline_by_name(application, name, kind="strategy")  # type: ignore[no-any-return]
