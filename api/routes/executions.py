"""Executions: read, list, cancel, pause, resume, PATCH a stage, restart, delete, evaluate an expression."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, BackgroundTasks, Body, Query, Request, Response

from core.errors import ApiError
from core.settings import Settings
from core.store.changes import executions_scope
from workflows import operations

from .. import cache
from .. import executions as reads
from .. import expressions as evaluation
from ..auth.enforce import EXECUTE, READ, GuardDep
from ..deps import ClientDep, PrincipalDep, SettingsDep, StoreDep, UserDep
from ..errors import bad_request
from ..models import Execution, ExpressionResult

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.store import Store

router = APIRouter(tags=["executions"])
Json = dict[str, Any]
EXECUTION: dict[str, Any] = {"response_model": Execution, "response_model_exclude_unset": True}
EVALUATED: dict[str, Any] = {"response_model": ExpressionResult, "response_model_exclude_unset": True}


#: how long a restart's answer waits for the store to show it
RESTART_VISIBLE_WAIT = 5.0
NOT_KEPT = 299  # an answer the cache must not keep (sent as 200)
FINISHED_STAGE = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"}


def _csv(text: str | None) -> list[str]:
    """Gate's comma-separated query values (``statuses=A,B``, ``executionIds=x,y``), blanks dropped."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _statuses(text: str | None) -> list[str] | None:
    from core.status import ExecutionStatus

    if not text:
        return None
    wanted = [s.upper() for s in _csv(text)]
    unknown = [s for s in wanted if s not in ExecutionStatus.__members__]
    if unknown:
        raise bad_request(
            f"unknown status {unknown[0]}; statuses are {', '.join(ExecutionStatus.__members__)}", field="statuses"
        )
    return wanted


@router.get("/pipelines/{execution_id}", response_model=Execution)
async def get_execution(
    execution_id: str, request: Request, client: ClientDep, store: StoreDep, settings: SettingsDep, guard: GuardDep
) -> Response:
    """The execution from the store, sent as the stored JSON text (no workflow is asked, no re-encoding). Once
    its application is known (a first read), answers are cached per process against the application's change
    counter, after the caller's READ on that application is checked."""
    known = cache.cache_of(request).scopes.get(f"execution\0{execution_id}")
    if known is None:
        application, _, text = await reads.get_text(client, store, execution_id, secret_fields=reads.secrets(settings))
        await guard.execution({"application": application}, READ)
        cache.cache_of(request).learn_scope(f"execution\0{execution_id}", executions_scope(application))
        return Response(content=text, media_type="application/json")
    await guard.app(known.split(":", 1)[1], READ)

    async def compute() -> Response:
        application, _, text = await reads.get_text(client, store, execution_id, secret_fields=reads.secrets(settings))
        if executions_scope(application) != known:  # moved to another application: checked, answered, not kept
            await guard.execution({"application": application}, READ)
            cache.cache_of(request).learn_scope(f"execution\0{execution_id}", executions_scope(application))
            return Response(content=text, media_type="application/json", status_code=NOT_KEPT)
        return Response(content=text, media_type="application/json")

    response = await cache.answer(request, store, known, f"execution\0{execution_id}", compute)
    if response.status_code == NOT_KEPT:  # the cache keeps 200s only
        response.status_code = 200
    return response


@router.get("/applications/{application}/pipelines", response_model=list[Execution])
async def app_executions(
    application: str,
    request: Request,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    limit: int = Query(5, ge=1, le=1000),
    statuses: str | None = None,
    expand: bool = False,
) -> Response:
    await guard.app(application, READ)
    wanted = _statuses(statuses)

    async def compute() -> Response:
        found = await asyncio.to_thread(
            store.executions.query,
            application=application,
            statuses=wanted,
            limit_per_config=limit,
            expand=expand,
            raw=True,
        )
        return await reads.listing(client, found, expand=expand, secret_fields=reads.secrets(settings))

    # the same for every caller allowed to READ (checked above): cached per process, validated per request
    key = f"{application}\0{limit}\0{','.join(wanted) if wanted is not None else '*'}\0{expand}"
    return await cache.answer(request, store, executions_scope(application), key, compute)


@router.get("/executions", response_model=list[Execution])
async def executions(
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    pipelineConfigIds: str | None = None,  # noqa: N803
    executionIds: str | None = None,
    limit: int = Query(1, ge=1, le=1000),  # noqa: N803
    statuses: str | None = None,
    expand: bool = False,
) -> Response:
    if bool(pipelineConfigIds) == bool(executionIds):
        raise bad_request("give either pipelineConfigIds or executionIds")
    if executionIds:
        ids = _csv(executionIds)
        found = await asyncio.to_thread(
            store.executions.query,
            execution_ids=ids,
            statuses=_statuses(statuses),
            type=None,
            expand=expand,
            raw=True,
        )
    else:
        configs = _csv(pipelineConfigIds)
        found = await asyncio.to_thread(
            store.executions.query,
            pipeline_config_ids=configs,
            statuses=_statuses(statuses),
            limit_per_config=limit,
            expand=expand,
            raw=True,
        )
    if guard.enabled:
        found = await guard.keep_apps(found, key=_raw_application)
    return await reads.listing(client, found, expand=expand, secret_fields=reads.secrets(settings))


async def _readable(client: Client, store: Store, settings: Settings, execution_id: str) -> Json:
    """The execution as a reader sees it, secrets replaced: what the expression routes evaluate against, so an
    expression cannot read what a GET would not show."""
    return await reads.get(client, store, execution_id, secret_fields=reads.secrets(settings))


def _raw_application(item: Any) -> Any:
    """The application of a listed execution: raw listings are (status, JSON text) pairs."""
    import json

    if isinstance(item, dict):
        return item.get("application")
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
        return (json.loads(item[1]) or {}).get("application")
    return None


def _on_finished(client: Client, store: Store, settings: Settings) -> Any:
    """The downstream ``pipeline`` triggers of an execution finished here (a reconciled zombie)."""
    from activities.triggers import TriggerActivities
    from integrations.triggers.launcher import Launcher

    return TriggerActivities(Launcher(client, store, settings), store).start_dependents


async def _reconciled(client: Client, store: Store, settings: Settings, execution_id: str) -> str | None:
    """Finish a zombie on the spot (its workflow closed or gone, the store still showing it unfinished)."""
    from activities.reconciler import reconcile_one

    return await reconcile_one(client, store, execution_id, _on_finished(client, store, settings))


async def _cancel(
    client: Client, store: Store, settings: Settings, execution_id: str, user: str, reason: str | None, force: bool
) -> None:
    try:
        await _cancel_workflow(client, store, execution_id, user, reason, force)
    except (operations.OperationRefusedError, operations.ExecutionNotFoundError):
        # "not running" from Temporal while the store shows it running: record how it ended instead
        if await _reconciled(client, store, settings, execution_id) is None:
            raise


async def _cancel_workflow(
    client: Client, store: Store, execution_id: str, user: str, reason: str | None, force: bool
) -> None:
    if not force:
        await operations.cancel_execution(client, execution_id, user=user, reason=reason)
        return
    # Orca accepts and ignores `force`; here it means "stop now": terminate the workflow, whatever its
    # cancel hooks or workers are doing, and store the execution as CANCELED.
    execution = await operations.force_cancel_execution(client, execution_id, user=user, reason=reason)
    if execution is None:
        stored = await asyncio.to_thread(store.executions.get, execution_id)
        execution = operations.mark_canceled(stored, user=user, reason=reason)
    canceled = execution
    header = await asyncio.to_thread(store.executions.header, execution_id)
    version = max(time.time_ns() // 1000, int((header or {}).get("version") or 0) + 1)
    await asyncio.to_thread(
        store.executions.apply_update,
        {
            "id": execution_id,
            "application": canceled.get("application"),
            "version": version,
            "execution": {k: v for k, v in canceled.items() if k != "stages"},
            "stages": [{"seq": i, "stage": st} for i, st in enumerate(canceled.get("stages") or []) if st.get("id")],
        },
    )


@router.put("/pipelines/{execution_id}/cancel")
async def cancel(
    execution_id: str,
    client: ClientDep,
    store: StoreDep,
    user: UserDep,
    guard: GuardDep,
    settings: SettingsDep,
    reason: str | None = None,
    force: bool = False,
) -> None:
    """Cancel a running execution; ``force=true`` terminates it at once (cancel hooks do not run). An execution
    whose workflow already closed without a final record is finished as the reconciler would finish it."""
    await guard.execution_id(execution_id, EXECUTE)
    await _cancel(client, store, settings, execution_id, user, reason, force)


@router.put("/applications/{application}/pipelines/{execution_id}/cancel")
async def cancel_legacy(
    application: str,
    execution_id: str,
    client: ClientDep,
    store: StoreDep,
    user: UserDep,
    guard: GuardDep,
    settings: SettingsDep,
    reason: str | None = None,
    force: bool = False,
) -> None:
    await guard.execution_id(execution_id, EXECUTE)
    await _cancel(client, store, settings, execution_id, user, reason, force)


@router.put("/pipelines/{execution_id}/pause")
async def pause(execution_id: str, client: ClientDep, user: UserDep, guard: GuardDep) -> None:
    await guard.execution_id(execution_id, EXECUTE)
    await operations.pause_execution(client, execution_id, user=user)


@router.put("/pipelines/{execution_id}/resume")
async def resume(execution_id: str, client: ClientDep, user: UserDep, guard: GuardDep) -> None:
    await guard.execution_id(execution_id, EXECUTE)
    await operations.resume_execution(client, execution_id, user=user)


@router.patch("/pipelines/{execution_id}/stages/{stage_id}", **EXECUTION)
async def patch_stage(
    execution_id: str,
    stage_id: str,
    client: ClientDep,
    store: StoreDep,
    principal: PrincipalDep,
    guard: GuardDep,
    settings: SettingsDep,
    body: dict[str, Any] = Body(..., description="context keys to set on the stage"),
) -> Json:
    await guard.execution_id(execution_id, EXECUTE)
    # with Fiat off nobody holds roles, so a judgment's selectedStageRoles bind no one (as in Orca)
    await operations.patch_stage(
        client,
        execution_id,
        stage_id,
        body,
        user=principal.name,
        roles=sorted(principal.roles),
        allowed_accounts=guard.authentication()["allowedAccounts"],
        admin=principal.admin or not settings.auth.enabled,
    )
    # the stage workflow writes the PATCH to the store before it answers, so the store is current
    return await reads.get(client, store, execution_id, secret_fields=reads.secrets(settings))


@router.put("/pipelines/{execution_id}/stages/{stage_id}/restart", **EXECUTION)
async def restart(
    execution_id: str,
    stage_id: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    user: UserDep,
    guard: GuardDep,
    body: Any = Body(None),
) -> Json:
    # 404 for a deleted one, though Temporal may still have it
    await guard.execution(await reads.get(client, store, execution_id, secret_fields=()), EXECUTE)
    await operations.restart_stage(
        client, execution_id, stage_id, user=user, task_queue=settings.task_queue, store=store
    )
    return await _once_restarted(client, store, execution_id, stage_id, reads.secrets(settings))


async def _once_restarted(
    client: Client, store: Store, execution_id: str, stage_id: str, secret_fields: list[str]
) -> Json:
    """The execution once the store shows the stage restarted (Orca resets it in its repository before answering);
    the workflow writes that within milliseconds, so this waits a bounded moment, then answers what is stored."""
    deadline = time.monotonic() + RESTART_VISIBLE_WAIT
    while True:
        execution = await reads.get(client, store, execution_id, secret_fields=secret_fields)
        stage = next((s for s in execution.get("stages") or [] if s.get("id") == stage_id), None)
        restarted = stage is None or stage.get("status") not in FINISHED_STAGE
        if (restarted and execution.get("status") not in FINISHED_STAGE) or time.monotonic() > deadline:
            return execution
        await asyncio.sleep(0.05)


@router.delete("/pipelines/{execution_id}")
async def delete(
    execution_id: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    background: BackgroundTasks,
) -> None:
    """Delete a finished execution: gone from reads and listings at once; Temporal's copies are deleted after.
    One the store shows unfinished whose workflow has closed is finished first (as the reconciler would)."""
    execution = await guard.execution(await reads.get(client, store, execution_id, secret_fields=()), EXECUTE)
    if execution.get("status") not in reads.FINISHED and await _reconciled(client, store, settings, execution_id):
        execution = await reads.get(client, store, execution_id, secret_fields=())
    if execution.get("status") not in reads.FINISHED:
        raise ApiError(409, f"execution {execution_id} is {execution.get('status')}; cancel it before deleting it")
    await asyncio.to_thread(store.executions.delete, execution_id)
    background.add_task(operations.delete_workflows, client, execution_id)


@router.get("/pipelines/{execution_id}/evaluateExpression", **EVALUATED)
async def evaluate_get(
    execution_id: str, client: ClientDep, store: StoreDep, settings: SettingsDep, guard: GuardDep, expression: str
) -> Json:
    execution = await guard.execution(await _readable(client, store, settings, execution_id), READ)
    return await evaluation.for_execution(execution, expression)


@router.post("/pipelines/{execution_id}/evaluateExpression", **EVALUATED)
async def evaluate_post(
    execution_id: str, request: Request, client: ClientDep, store: StoreDep, settings: SettingsDep, guard: GuardDep
) -> Json:
    raw: Any = (await request.body()).decode(errors="replace")
    if request.headers.get("content-type", "").startswith("application/json"):
        import json

        try:
            parsed = json.loads(raw or "null")
        except ValueError:
            raise bad_request("the body is not valid JSON") from None
        raw = parsed.get("expression") if isinstance(parsed, dict) else parsed
    if not isinstance(raw, str) or not raw:
        raise bad_request("an expression is required", field="expression")
    execution = await guard.execution(await _readable(client, store, settings, execution_id), READ)
    return await evaluation.for_execution(execution, raw)


@router.get("/pipelines/{execution_id}/{stage_id}/evaluateExpression", **EVALUATED)
async def evaluate_at_stage(
    execution_id: str,
    stage_id: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    expression: str,
) -> Json:
    """An expression as one stage saw it (its context, its and its ancestors' outputs)."""
    execution = await guard.execution(await _readable(client, store, settings, execution_id), READ)
    return await evaluation.for_stage(execution, stage_id, expression)


@router.post("/pipelines/{execution_id}/evaluateVariables", **EVALUATED)
async def evaluate_variables(
    execution_id: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    requisiteStageRefIds: str = "",  # noqa: N803 - Orca's parameter names
    spelVersion: str = "",  # noqa: N803
    variables: Any = Body(..., json_schema_extra={"type": "array", "items": {"type": "object"}}),
) -> Json:
    """Dry-run an Evaluate Variables stage placed after ``requisiteStageRefIds`` (Deck's "test" button)."""
    execution = await guard.execution(await _readable(client, store, settings, execution_id), READ)
    refs = [r for r in re.split(r"[,;\s]", requisiteStageRefIds) if r]
    return await evaluation.evaluate_variables(execution, refs, spelVersion, variables)


@router.get("/applications/{application}/executions/search", response_model=list[Execution])
async def search(
    application: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    triggerTypes: str | None = None,  # noqa: N803
    pipelineName: str | None = None,
    eventId: str | None = None,  # noqa: N803
    triggerTimeStartBoundary: int | None = Query(None, ge=0, le=2**63 - 1),  # noqa: N803 - a 64-bit column
    triggerTimeEndBoundary: int | None = Query(None, ge=0, le=2**63 - 1),  # noqa: N803
    statuses: str | None = None,
    startIndex: int = Query(0, ge=0),  # noqa: N803
    size: int = Query(10, ge=1, le=1000),
    reverse: bool = False,
    expand: bool = False,
) -> Response:
    """Orca's search by trigger: newest first (``reverse`` for oldest first), paged by startIndex/size."""
    await guard.app(application, READ)
    types = _csv(triggerTypes) or None
    found: list[Json] = await asyncio.to_thread(
        store.executions.query,
        application=application,
        statuses=_statuses(statuses),
        trigger_types=types,
        start_after_ms=triggerTimeStartBoundary,
        start_before_ms=triggerTimeEndBoundary,
        expand=expand,
    )
    if pipelineName:
        found = [e for e in found if e.get("name") == pipelineName]
    if eventId:
        found = [e for e in found if (e.get("trigger") or {}).get("eventId") == eventId]
    if reverse:
        found.reverse()
    page = found[startIndex : startIndex + size]
    return reads.json_list(await reads.refresh(client, page, expand=expand, secret_fields=reads.secrets(settings)))
