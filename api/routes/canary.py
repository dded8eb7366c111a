"""Kayenta behind Gate: canary configs (``/v2/canaryConfig``), metrics accounts, judges and metadata, canary runs
and their metric-set pairs (``/v2/canaries/...``). Fiat's permissions: READ on a config's or run's application to
see it, WRITE on every application of a config to save or delete it, EXECUTE on the application to run one."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from ..auth.enforce import EXECUTE, READ, WRITE, Guard, GuardDep
from ..deps import ClientDep, SettingsDep, StoreDep
from ..errors import ApiError, bad_request, not_found
from ..models.base import document
from ..models.canary import (
    AdHocCanaryRequest,
    CanaryConfig,
    CanaryConfigSaved,
    CanaryConfigSummary,
    CanaryExecutionRequest,
    CanaryExecutionStatus,
    CanaryRunStarted,
    Judge,
    KayentaAccount,
    MetricDescriptor,
    MetricSetPair,
)

if TYPE_CHECKING:
    from temporalio.client import Client

    from canary.runs import RunRequest
    from core.settings import Settings
    from core.store import Store
    from core.store.canary import CanaryStore

router = APIRouter(tags=["canary"])
Json = dict[str, Any]


def _canary(store: Store) -> CanaryStore:
    return store.canary


async def _any_app(guard: Guard, applications: Any, authorization: str) -> None:
    """The caller needs ``authorization`` on at least one of a config's applications."""
    apps: list[str | None] = [a for a in applications or [] if isinstance(a, str)] or [None]
    for application in apps:
        if await guard.app_allows(application, authorization):
            return
    await guard.app(apps[0], authorization)  # the refusal, naming the first


async def _every_app(guard: Guard, applications: Any, authorization: str) -> None:
    for application in dict.fromkeys(a for a in applications or [] if isinstance(a, str)):
        await guard.app(application, authorization)


# ---- configs ---------------------------------------------------------------------------------------------------


@router.get("/v2/canaryConfig", response_model=list[CanaryConfigSummary], response_model_exclude_unset=True)
async def list_configs(
    store: StoreDep,
    guard: GuardDep,
    application: list[str] | None = Query(None),
    configurationAccountName: str | None = None,  # noqa: N803 - Gate's name; one store here
) -> list[Json]:
    for app in application or []:
        await guard.app(app, READ)
    configs: list[Json] = await asyncio.to_thread(_canary(store).list_configs, application)
    if application:
        return configs
    kept = []
    for config in configs:
        if any([await guard.app_allows(a, READ) for a in config.get("applications") or []]):
            kept.append(config)
    return kept


@router.get("/v2/canaryConfig/{config_id}", response_model=CanaryConfig, response_model_exclude_unset=True)
async def get_config(config_id: str, store: StoreDep, guard: GuardDep) -> Json:
    config: Json = await asyncio.to_thread(_canary(store).get_config, config_id)
    await _any_app(guard, config.get("applications"), READ)
    return config


@router.post("/v2/canaryConfig", response_model=CanaryConfigSaved)
async def create_config(store: StoreDep, guard: GuardDep, body: Annotated[CanaryConfig, Body()]) -> Json:
    from core.store.canary import validate_config

    config = validate_config(document(body))
    await _every_app(guard, config.get("applications"), WRITE)
    saved = await asyncio.to_thread(_canary(store).create_config, config)
    return {"canaryConfigId": saved["id"]}


@router.put("/v2/canaryConfig/{config_id}", response_model=CanaryConfigSaved)
async def update_config(
    config_id: str, store: StoreDep, guard: GuardDep, body: Annotated[CanaryConfig, Body()]
) -> Json:
    from core.store import NotFoundError
    from core.store.canary import validate_config

    config = validate_config(document(body))
    try:
        stored = await asyncio.to_thread(_canary(store).get_config, config_id)
    except NotFoundError:
        raise bad_request(f"Canary config '{config_id}' does not exist.", field="id") from None
    await _every_app(guard, [*(stored.get("applications") or []), *(config.get("applications") or [])], WRITE)
    await asyncio.to_thread(_canary(store).update_config, config_id, config)
    return {"canaryConfigId": config_id}


@router.delete("/v2/canaryConfig/{config_id}", status_code=204)
async def delete_config(config_id: str, store: StoreDep, guard: GuardDep) -> Response:
    stored = await asyncio.to_thread(_canary(store).get_config, config_id)
    await _every_app(guard, stored.get("applications"), WRITE)
    await asyncio.to_thread(_canary(store).delete_config, config_id)
    return Response(status_code=204)


# ---- accounts, judges, metadata -----------------------------------------------------------------------------


@router.get("/v2/canaries/credentials", response_model=list[KayentaAccount])
async def credentials(settings: SettingsDep) -> list[Json]:
    """Kayenta's accounts: the metrics accounts, and the store as the configuration and object store."""
    accounts = [a.public() for a in settings.canary.accounts]
    name = settings.canary.storage_account_name
    store = {"name": name, "type": "gennaker", "supportedTypes": ["CONFIGURATION_STORE", "OBJECT_STORE"],
             "locations": [], "recommendedLocations": []}  # fmt: skip
    return [*accounts, store]


@router.get("/v2/canaries/judges", response_model=list[Judge])
async def judges() -> list[Json]:
    from canary.judge import JUDGES

    return [{"name": name, "visible": visible} for name, visible in JUDGES.items()]


@router.get(
    "/v2/canaries/metadata/metricsService",
    response_model=list[MetricDescriptor],
    response_model_exclude_unset=True,
    responses={502: {"description": "The metrics account could not be asked"}},
)
async def metrics_metadata(
    settings: SettingsDep,
    filter: str | None = None,  # noqa: A002 - Gate's parameter name
    metricsAccountName: str | None = None,  # noqa: N803
) -> list[Json]:
    """Metric names of a Prometheus account (``[{name}]``), filtered by substring."""
    from canary.prometheus import PrometheusError, metric_names

    try:
        account = settings.canary.account(metricsAccountName).connection()
    except LookupError as err:
        raise bad_request(str(err), field="metricsAccountName") from None
    try:
        return await asyncio.to_thread(metric_names, account, filter)
    except PrometheusError as err:
        raise ApiError(502, f"metrics account {account['name']}: {err}") from None


# ---- runs ------------------------------------------------------------------------------------------------------


async def _start(client: Client, store: Store, settings: Settings, run: RunRequest) -> Json:
    from temporalio.service import RPCError

    from canary.request import RequestError
    from canary.runs import start_run

    try:
        return {"canaryExecutionId": await start_run(client, store, settings, run)}
    except RequestError as err:
        raise bad_request(str(err), **({"field": err.field} if err.field else {})) from None
    except RPCError as err:  # the run is recorded terminal with the reason
        raise ApiError(503, f"Temporal could not start the canary run: {err}") from None


@router.post("/v2/canaries/canary/{config_id}", response_model=CanaryRunStarted)
async def run_config(
    config_id: str,
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    guard: GuardDep,
    body: Annotated[CanaryExecutionRequest, Body()],
    application: str | None = None,
    parentPipelineExecutionId: str | None = None,  # noqa: N803
    metricsAccountName: str | None = None,  # noqa: N803
    storageAccountName: str | None = None,  # noqa: N803
    configurationAccountName: str | None = None,  # noqa: N803
) -> Json:
    from canary.runs import RunRequest

    config: Json = await asyncio.to_thread(_canary(store).get_config, config_id)
    application = application or ((config.get("applications") or [None])[0])
    await guard.app(application, EXECUTE)
    run = RunRequest(config, document(body), application, config_id, parentPipelineExecutionId, metricsAccountName,
                     storageAccountName, configurationAccountName)  # fmt: skip
    return await _start(client, store, settings, run)


@router.post("/v2/canaries/canary", response_model=CanaryRunStarted)
async def run_ad_hoc(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    guard: GuardDep,
    ad_hoc: Annotated[AdHocCanaryRequest, Body()],
    application: str = "ad-hoc",
    parentPipelineExecutionId: str | None = None,  # noqa: N803
    metricsAccountName: str | None = None,  # noqa: N803
    storageAccountName: str | None = None,  # noqa: N803
) -> Json:
    from canary.runs import RunRequest
    from core.store.canary import validate_config

    body = document(ad_hoc)
    if not isinstance(body, dict) or not isinstance(body.get("canaryConfig"), dict):
        raise bad_request("the body must be {canaryConfig, executionRequest}", field="canaryConfig")
    config = body["canaryConfig"]
    validate_config({"applications": [application], **config})
    await guard.app(application, EXECUTE)
    run = RunRequest(config, body.get("executionRequest"), application, None, parentPipelineExecutionId,
                     metricsAccountName, storageAccountName)  # fmt: skip
    return await _start(client, store, settings, run)


async def _run(store: Store, guard: Guard, run_id: str) -> Json:
    run: Json = await asyncio.to_thread(_canary(store).get_run, run_id)
    await guard.app(run.get("application"), READ)
    return run


@router.get("/v2/canaries/canary/{run_id}", response_model=CanaryExecutionStatus, response_model_exclude_unset=True)
async def run_status(
    run_id: str,
    store: StoreDep,
    client: ClientDep,
    guard: GuardDep,
    storageAccountName: str | None = None,  # noqa: N803
) -> Json:
    from canary.runs import settle

    await _run(store, guard, run_id)
    return await settle(client, store, run_id)


@router.get(
    "/v2/canaries/canary/{config_id}/{run_id}", response_model=CanaryExecutionStatus, response_model_exclude_unset=True
)
async def run_status_deprecated(
    config_id: str, run_id: str, store: StoreDep, client: ClientDep, guard: GuardDep
) -> Json:
    """Gate's deprecated spelling with the config id in the path."""
    from canary.runs import settle

    await _run(store, guard, run_id)
    return await settle(client, store, run_id)


@router.get(
    "/v2/canaries/{application}/executions",
    response_model=list[CanaryExecutionStatus],
    response_model_exclude_unset=True,
)
async def list_runs(
    application: str,
    store: StoreDep,
    guard: GuardDep,
    limit: int = Query(20, ge=1, le=1000),
    page: int = Query(1, ge=1, le=1_000_000),
    statuses: str | None = None,
) -> list[Json]:
    from canary.request import status_response

    await guard.app(application, READ)
    wanted = [s.strip() for s in statuses.split(",") if s.strip()] if statuses else None
    runs = await asyncio.to_thread(_canary(store).list_runs, application, limit, page, wanted)
    return [status_response(r) for r in runs]


@router.get(
    "/v2/canaries/metricSetPairList/{list_id}", response_model=list[MetricSetPair], response_model_exclude_unset=True
)
async def metric_set_pairs(
    list_id: str, store: StoreDep, guard: GuardDep, accountName: str | None = None
) -> list[Json]:  # noqa: N803
    from core.store import NotFoundError

    canary = _canary(store)
    try:
        pairs: list[Json] = await asyncio.to_thread(canary.get_metric_sets, list_id, "metricSetPairList")
        run_id = await asyncio.to_thread(canary.metric_set_run, list_id)
    except NotFoundError:
        raise not_found(f"No metric set pair list found with id '{list_id}'.") from None
    if run_id is not None:
        await _run(store, guard, run_id)
    return pairs
