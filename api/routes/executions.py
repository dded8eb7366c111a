"""Executions: read, list, cancel, pause, resume, PATCH a stage, restart, delete, evaluate an expression."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response

from workflows import operations

from .. import executions as reads
from ..deps import ClientDep, SettingsDep, StoreDep, UserDep
from ..errors import ApiError, bad_request

router = APIRouter(tags=["executions"])
Json = dict[str, Any]


def _csv(text: str | None) -> list[str]:
    """Gate's comma-separated query values (``statuses=A,B``, ``executionIds=x,y``), blanks dropped."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _statuses(text: str | None) -> list[str] | None:
    from workflows.status import ExecutionStatus

    if not text:
        return None
    wanted = [s.upper() for s in _csv(text)]
    unknown = [s for s in wanted if s not in ExecutionStatus.__members__]
    if unknown:
        raise bad_request(
            f"unknown status {unknown[0]}; statuses are {', '.join(ExecutionStatus.__members__)}", field="statuses"
        )
    return wanted


@router.get("/pipelines/{execution_id}")
async def get_execution(execution_id: str, client: ClientDep, store: StoreDep) -> Json:
    return await reads.get(client, store, execution_id)


@router.get("/applications/{application}/pipelines", response_model=list[dict[str, Any]])
async def app_executions(
    application: str,
    client: ClientDep,
    store: StoreDep,
    limit: int = Query(5, ge=1, le=1000),
    statuses: str | None = None,
    expand: bool = False,
) -> Response:
    found = await asyncio.to_thread(
        store.list_executions,
        application=application,
        statuses=_statuses(statuses),
        limit_per_config=limit,
        expand=expand,
        raw=True,
    )
    return await reads.listing(client, found, expand=expand)


@router.get("/executions", response_model=list[dict[str, Any]])
async def executions(
    client: ClientDep,
    store: StoreDep,
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
            store.list_executions,
            execution_ids=ids,
            statuses=_statuses(statuses),
            type=None,
            expand=expand,
            raw=True,
        )
    else:
        configs = _csv(pipelineConfigIds)
        found = await asyncio.to_thread(
            store.list_executions,
            pipeline_config_ids=configs,
            statuses=_statuses(statuses),
            limit_per_config=limit,
            expand=expand,
            raw=True,
        )
    return await reads.listing(client, found, expand=expand)


@router.put("/pipelines/{execution_id}/cancel")
async def cancel(
    execution_id: str, client: ClientDep, user: UserDep, reason: str | None = None, force: bool = False
) -> None:
    await operations.cancel_execution(client, execution_id, user=user, reason=reason)


@router.put("/applications/{application}/pipelines/{execution_id}/cancel")
async def cancel_legacy(
    application: str, execution_id: str, client: ClientDep, user: UserDep, reason: str | None = None
) -> None:
    await operations.cancel_execution(client, execution_id, user=user, reason=reason)


@router.put("/pipelines/{execution_id}/pause")
async def pause(execution_id: str, client: ClientDep, user: UserDep) -> None:
    await operations.pause_execution(client, execution_id, user=user)


@router.put("/pipelines/{execution_id}/resume")
async def resume(execution_id: str, client: ClientDep, user: UserDep) -> None:
    await operations.resume_execution(client, execution_id, user=user)


@router.patch("/pipelines/{execution_id}/stages/{stage_id}")
async def patch_stage(
    execution_id: str, stage_id: str, client: ClientDep, user: UserDep, body: Any = Body(...)
) -> Json:
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object of context keys")
    await operations.patch_stage(client, execution_id, stage_id, body, user=user)
    return await operations.get_execution(client, execution_id)


@router.put("/pipelines/{execution_id}/stages/{stage_id}/restart")
async def restart(
    execution_id: str, stage_id: str, client: ClientDep, settings: SettingsDep, user: UserDep, body: Any = Body(None)
) -> Json:
    await operations.restart_stage(client, execution_id, stage_id, user=user, task_queue=settings.task_queue)
    return await operations.get_execution(client, execution_id)


@router.delete("/pipelines/{execution_id}")
async def delete(execution_id: str, client: ClientDep, store: StoreDep) -> None:
    execution = await reads.get(client, store, execution_id)
    if execution.get("status") not in reads.FINISHED:
        raise ApiError(409, f"execution {execution_id} is {execution.get('status')}; cancel it before deleting it")
    await asyncio.to_thread(store.delete_execution, execution_id)


async def _evaluate(client: Any, store: Any, execution_id: str, expression: str) -> Json:
    from workflows import expressions as expr

    execution = await reads.get(client, store, execution_id)
    trigger = execution.get("trigger") or {}
    outputs = [s.get("outputs") or {} for s in reversed(execution.get("stages", []))]
    ctx = expr.EvaluationContext(
        root={"trigger": trigger, "parameters": trigger.get("parameters") or {}, "execution": execution},
        fallback=outputs,
        execution=execution,
    )
    result = expr.process(expression, ctx)
    if result.summary:
        return {"result": result.value, "detail": result.summary}
    return {"result": result.value}


@router.get("/pipelines/{execution_id}/evaluateExpression")
async def evaluate_get(execution_id: str, client: ClientDep, store: StoreDep, expression: str) -> Json:
    return await _evaluate(client, store, execution_id, expression)


@router.post("/pipelines/{execution_id}/evaluateExpression")
async def evaluate_post(execution_id: str, request: Request, client: ClientDep, store: StoreDep) -> Json:
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
    return await _evaluate(client, store, execution_id, raw)


@router.get("/applications/{application}/executions/search", response_model=list[dict[str, Any]])
async def search(
    application: str,
    client: ClientDep,
    store: StoreDep,
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
    types = _csv(triggerTypes) or None
    found: list[Json] = await asyncio.to_thread(
        store.list_executions,
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
    return reads.json_list(await reads.refresh(client, found[startIndex : startIndex + size], expand=expand))
