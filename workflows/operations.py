"""Operating executions through a Temporal client: start, read, cancel, pause, resume, PATCH, restart.

The API and the SDK call these; nothing here runs inside a workflow. Reading an execution reads the
store's projection, which the workflows keep current; without a store it asks the workflows.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from core.errors import EngineError, temporal_not_found
from core.ids import new_ulid

from .config import PipelineConfig
from .errors import ExecutionFinishingError, StageNotFinishedError
from .execution import PIPELINE, ExecutionState, strip_execution
from .graph import StageGraph
from .launch import WORKFLOW_TYPE, pipeline_start
from .messages import CancelRequest, PatchStageInput, RestartStageInput, RunPipelineInput, unwrap_failure
from .pipeline import PipelineWorkflow
from .stage import StageWorkflow
from .stages import resolve

DEFAULT_WINDOW_TIMEZONE = "America/Los_Angeles"
#: how long a restart waits for an execution that is recording its end
FINISHING_WAIT = 60.0


#: how long pause/resume wait for the workflow to confirm before falling back to a signal
UPDATE_ANSWER_SECONDS = 10.0


class ExecutionNotFoundError(EngineError):
    """No execution with that id."""


class OperationRefusedError(EngineError):
    """The execution or stage is not in a state that allows the operation; the message says why."""


def validate_for_start(config: dict[str, Any]) -> PipelineConfig:
    """Refuse, before anything starts, a pipeline the engine cannot run (naming the stage and field)."""
    parsed = PipelineConfig.parse(config)
    StageGraph.build(parsed.stages)
    for stage in parsed.stages:
        resolve(stage.type, stage.alias, stage=stage.label)
    return parsed


async def start_pipeline(
    client: Client,
    config: dict[str, Any],
    trigger: dict[str, Any] | None = None,
    *,
    task_queue: str,
    execution_id: str | None = None,
    type: str = PIPELINE,
    authentication: dict[str, Any] | None = None,
    origin: str = "api",
    window_timezone: str = "America/Los_Angeles",
    activity_queues: dict[str, str] | None = None,
    once: bool = False,
) -> str:
    """Validate and start an execution; returns its id (a ULID) once Temporal has accepted it.

    ``once``: never start a second run under ``execution_id``, even after the first has closed
    (triggers use it: a redelivered event must not run its pipeline again). Raises
    ``WorkflowAlreadyStartedError`` then."""
    validate_for_start(config)
    execution_id = execution_id or new_ulid()
    start = pipeline_start(
        execution_id,
        config,
        trigger,
        type=type,
        authentication=authentication,
        origin=origin,
        window_timezone=window_timezone,
        activity_queues=activity_queues,
    )
    await client.start_workflow(
        WORKFLOW_TYPE,
        start.input,
        id=execution_id,
        task_queue=task_queue,
        search_attributes=start.search_attributes,
        static_summary=start.summary,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE if once else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return execution_id


async def get_execution(client: Client, execution_id: str, *, expand: bool = True, store: Any = None) -> dict[str, Any]:
    """The execution as Gate returns it.

    With a ``store``: the store's projection, which the workflows write at every transition (no
    workflow is asked). Without one: the pipeline workflow's compact state, each stage replaced by
    its stage workflow's own (a finished one is replayed by a worker to answer; one that cannot answer
    stays as the pipeline has it: config, status, times).
    """
    if store is not None:
        return await read_execution(store, execution_id, expand=expand)
    handle = client.get_workflow_handle(execution_id)
    try:
        execution: dict[str, Any] = await handle.query(PipelineWorkflow.execution)
    except RPCError as err:
        if temporal_not_found(err):
            raise ExecutionNotFoundError(f"no execution with id {execution_id}") from None
        raise
    children: dict[str, str] = await handle.query(PipelineWorkflow.stage_workflows)
    tops = [s for s in execution.get("stages", []) if s.get("parentStageId") is None and children.get(s["id"])]
    live = await asyncio.gather(*(_stage_state(client, children[s["id"]]) for s in tops))
    by_top = {s["id"]: states for s, states in zip(tops, live, strict=True) if states}
    covered = {x.get("id") for states in by_top.values() for x in states}
    merged: list[dict[str, Any]] = []
    for s in execution.get("stages", []):
        if s["id"] in by_top:
            merged.extend(by_top[s["id"]])  # the stage and its synthetic stages, as its workflow has them
        elif s["id"] not in covered:
            merged.append(s)
    execution["stages"] = merged
    return execution if expand else strip_execution(execution)


async def read_execution(store: Any, execution_id: str, *, expand: bool = True) -> dict[str, Any]:
    """The execution from the store's projection (``expand=False``: Gate's summary form)."""
    from core.store import NotFoundError

    try:
        execution: dict[str, Any] = await asyncio.to_thread(store.executions.get, execution_id)
    except NotFoundError:
        raise ExecutionNotFoundError(f"no execution with id {execution_id}") from None
    return execution if expand else strip_execution(execution)


async def _stage_state(client: Client, workflow_id: str | None) -> list[dict[str, Any]]:
    if not workflow_id:
        return []
    try:
        return await client.get_workflow_handle(workflow_id).query(StageWorkflow.state)
    except RPCError:
        return []  # not started yet, or no worker to replay it: the pipeline's compact copy stands


async def cancel_execution(
    client: Client, execution_id: str, *, user: str = "anonymous", reason: str | None = None
) -> None:
    """Record who canceled and why, then cancel the workflow (children and activities follow)."""
    handle = await _running(client, execution_id)
    await handle.signal(PipelineWorkflow.cancel, CancelRequest(user=user, reason=reason))
    await handle.cancel()


async def force_cancel_execution(
    client: Client, execution_id: str, *, user: str = "anonymous", reason: str | None = None
) -> dict[str, Any] | None:
    """Cancel without waiting for cancel hooks or a worker: terminate the workflow (its stage workflows
    with it, by Temporal's parent-close policy). Returns the last execution JSON the workflow answered,
    marked CANCELED, for the caller to store; None if the workflow could not be queried (no worker)."""
    handle = await _running(client, execution_id)
    execution: dict[str, Any] | None = None
    with contextlib.suppress(RPCError, asyncio.TimeoutError):
        execution = await asyncio.wait_for(get_execution(client, execution_id), FORCE_QUERY_TIMEOUT)
    if execution is None:
        execution = await _as_started(client, handle)
    who = f"{user}: {reason}" if reason else user
    await handle.terminate(reason=f"force-canceled by {who}")
    return mark_canceled(execution, user=user, reason=reason) if execution is not None else None


async def _as_started(client: Client, handle: WorkflowHandle[Any, Any]) -> dict[str, Any] | None:
    """The execution as its start input describes it (no stage has run), for a workflow that cannot answer."""
    from temporalio.api.enums.v1 import EventType

    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            return None
        attrs = event.workflow_execution_started_event_attributes
        [inp] = await client.data_converter.decode(attrs.input.payloads, [RunPipelineInput])
        if inp.resume is not None:
            return inp.resume.to_json()  # type: ignore[no-any-return]
        config = inp.config
        return {
            "id": inp.execution_id,
            "type": inp.type,
            "application": config.get("application"),
            "name": config.get("name"),
            "pipelineConfigId": config.get("id"),
            "buildTime": event.event_time.ToMilliseconds(),
            "status": "NOT_STARTED",
            "trigger": inp.trigger,
            "authentication": inp.authentication,
            "origin": inp.origin,
            "stages": [],
        }
    return None


_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")
FORCE_QUERY_TIMEOUT = 5.0  # seconds to wait for the workflow's own state before terminating without it


def mark_canceled(execution: dict[str, Any], *, user: str, reason: str | None) -> dict[str, Any]:
    """The execution as a forced cancel leaves it: CANCELED, and so is every stage and task that had not finished."""
    import time

    from core.status import ExecutionStatus

    now = int(time.time() * 1000)
    done = {s.value for s in ExecutionStatus if s.is_complete}

    def close(item: dict[str, Any]) -> None:
        if item.get("status") not in done:
            item["status"] = ExecutionStatus.CANCELED.value
            if item.get("startTime"):
                item["endTime"] = now

    close(execution)
    execution.update(canceled=True, canceledBy=user, endTime=execution.get("endTime") or now)
    if reason:
        execution["cancellationReason"] = reason
    for stage in execution.get("stages", []):
        close(stage)
        for task in stage.get("tasks", []):
            close(task)
    return execution


async def delete_workflows(client: Client, execution_id: str) -> int:
    """Ask Temporal to delete an execution's workflows (the pipeline's and its stages'); returns how many.
    Temporal deletes asynchronously, so they may stay visible for a while."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest

    ids = [execution_id]
    if _PLAIN_ID.fullmatch(execution_id):  # only plain ids go into a visibility query
        with contextlib.suppress(RPCError):
            ids += [w.id async for w in client.list_workflows(f'WorkflowId STARTS_WITH "{execution_id}."')]
    deleted = 0
    for workflow_id in dict.fromkeys(ids):
        request = DeleteWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id)
        )
        try:
            await client.workflow_service.delete_workflow_execution(request)
            deleted += 1
        except RPCError:
            continue  # already gone (retention, or an earlier delete)
    return deleted


async def pause_execution(client: Client, execution_id: str, *, user: str = "anonymous") -> None:
    """Pause; returns once the store shows it (a run of the previous release is signalled instead)."""
    handle = await _running(client, execution_id)
    await _update_or_signal(handle, "pause_and_record", "pause", user)


async def resume_execution(client: Client, execution_id: str, *, user: str = "anonymous") -> None:
    """Resume; returns once the store shows it (a run of the previous release is signalled instead)."""
    handle = await _running(client, execution_id)
    await _update_or_signal(handle, "resume_and_record", "resume", user)


async def _update_or_signal(handle: WorkflowHandle[Any, Any], update: str, signal: str, user: str) -> None:
    """Read-your-writes through the update; a run without that handler (started by the previous release) or one
    that does not answer in time still gets the signal, which is idempotent."""
    try:
        await asyncio.wait_for(handle.execute_update(update, user), UPDATE_ANSWER_SECONDS)
        return
    except (WorkflowUpdateFailedError, RPCError, TimeoutError) as err:
        if temporal_not_found(err):
            raise ExecutionNotFoundError(f"no execution with id {handle.id}") from None
    await handle.signal(signal, user)


async def patch_stage(
    client: Client,
    execution_id: str,
    stage_id: str,
    context: dict[str, Any],
    *,
    user: str = "anonymous",
    roles: list[str] | None = None,
    allowed_accounts: list[str] | None = None,
    admin: bool = False,
) -> dict[str, Any]:
    """PATCH a running stage (manual judgment, skip a wait or a window, manual skip).

    ``roles``/``admin`` decide who may judge; ``allowed_accounts`` are the sender's, which a judgment
    with ``propagateAuthenticationContext`` hands on to the stages after it."""
    handle = await _running(client, execution_id)
    stage, workflow_id = await _stage_owner(client, handle, stage_id)
    if stage is None:
        raise OperationRefusedError(f"execution {execution_id} has no stage {stage_id}")
    if not workflow_id:
        raise OperationRefusedError(f"stage '{stage.get('name')}' is {stage.get('status')}, not running")
    from temporalio.client import WorkflowUpdateFailedError

    try:
        return await client.get_workflow_handle(workflow_id).execute_update(
            StageWorkflow.patch,
            PatchStageInput(stage_id, context, user, list(roles or []), list(allowed_accounts or []), admin),
        )
    except WorkflowUpdateFailedError as err:
        raise OperationRefusedError(str(err.cause.message if hasattr(err.cause, "message") else err.cause)) from None
    except RPCError as err:
        raise OperationRefusedError(f"stage '{stage.get('name')}' is no longer running ({err})") from None


async def _stage_owner(
    client: Client, handle: WorkflowHandle[Any, Any], stage_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    """A stage and the id of the stage workflow that runs it (None if none runs it), asking only the
    pipeline and its running stages' workflows (a finished stage workflow is never replayed for this)."""
    execution: dict[str, Any] = await handle.query(PipelineWorkflow.execution)
    children: dict[str, str] = await handle.query(PipelineWorkflow.stage_workflows)
    stages = {s["id"]: s for s in execution.get("stages", [])}
    live = ("RUNNING", "PAUSED", "SUSPENDED")
    running = [s for s in stages.values() if s.get("parentStageId") is None and s.get("status") in live]
    states = await asyncio.gather(*(_stage_state(client, children.get(s["id"])) for s in running))
    for top, state in zip(running, states, strict=True):
        found = next((x for x in state if x.get("id") == stage_id), None)
        if found is not None:
            return found, children.get(top["id"])
    stage = stages.get(stage_id)
    return stage, None  # known but not under way (or unknown: None)


async def restart_stage(
    client: Client,
    execution_id: str,
    stage_id: str,
    *,
    user: str = "anonymous",
    task_queue: str,
    store: Any = None,
) -> None:
    """Restart a finished stage and everything downstream, in a running or a finished execution.

    A restart that reaches a pipeline while it is recording its end is run once the execution has
    finished (never dropped). A finished execution restarts with the settings it ran with (window
    time zone, activity queues); once Temporal has forgotten it (retention), from ``store``'s copy."""
    handle = client.get_workflow_handle(execution_id)
    try:
        running = (await _describe(handle)).status == WorkflowExecutionStatus.RUNNING
    except ExecutionNotFoundError:
        if store is None:
            raise
        running = False
    if running:
        if await _restart_running(handle, stage_id, user):
            return
        await _closed(handle)
    state, window_timezone, activity_queues = await _finished(client, execution_id, store)
    stage = state.stage_by_id(stage_id)
    if stage is None or stage.parent_stage_id is not None:
        raise OperationRefusedError(f"execution {execution_id} has no top-level stage {stage_id}")
    if state.canceled:
        raise OperationRefusedError(f"execution {execution_id} was canceled; it cannot be restarted")
    inp = RunPipelineInput(
        execution_id=execution_id,
        config=state.pipeline_config,
        trigger=state.trigger,
        type=state.type,
        authentication=state.authentication,
        origin=state.origin,
        window_timezone=window_timezone,
        activity_queues=activity_queues,
        resume=state,
        restart_stage_id=stage_id,
        restart_user=user,
    )
    await client.start_workflow(WORKFLOW_TYPE, inp, id=execution_id, task_queue=task_queue)


async def _restart_running(handle: WorkflowHandle[Any, Any], stage_id: str, user: str) -> bool:
    """Ask the running pipeline to restart the stage; False if it finished (or is finishing) meanwhile."""
    from temporalio.client import WorkflowUpdateFailedError

    for attempt in range(20):
        try:
            await handle.execute_update(PipelineWorkflow.restart_stage, RestartStageInput(stage_id, user))
            return True
        except WorkflowUpdateFailedError as err:
            message = str(getattr(err.cause, "message", err.cause))
            refusal = getattr(err.cause, "type", None)  # the validator's exception class, as Temporal names it
            if refusal == ExecutionFinishingError.__name__:
                return False
            # a stage workflow that just finished is seen finished by readers a moment before its
            # pipeline has recorded it: give the pipeline that moment before refusing
            if refusal != StageNotFinishedError.__name__ or attempt == 19:
                raise OperationRefusedError(message) from None
        except RPCError:
            return False  # the execution closed while we asked
        await asyncio.sleep(0.1)
    return False


async def _closed(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait (a bounded while) for a finishing execution's workflow to close."""
    try:
        await asyncio.wait_for(_result(handle), FINISHING_WAIT)
    except TimeoutError:
        raise OperationRefusedError(f"execution {handle.id} is still finishing; try again") from None


async def _result(handle: WorkflowHandle[Any, Any]) -> None:
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()


async def _finished(client: Client, execution_id: str, store: Any) -> tuple[ExecutionState, str, dict[str, str]]:
    """A finished execution's state and settings: from Temporal, else (after retention) from the store."""
    try:
        state = await final_state(client, execution_id)
        started = await _start_input(client, execution_id)
    except (ExecutionNotFoundError, RPCError) as err:
        if store is None or (isinstance(err, RPCError) and not temporal_not_found(err)):
            raise
        return await _from_store(store, execution_id)
    if started is None:
        return state, DEFAULT_WINDOW_TIMEZONE, {}
    return state, started.window_timezone, dict(started.activity_queues)


async def _start_input(client: Client, execution_id: str) -> RunPipelineInput | None:
    """The input the execution's current run started with (it carries the execution's settings)."""
    async for event in client.get_workflow_handle(execution_id).fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        if not payloads:
            return None
        [inp] = await client.data_converter.decode(payloads, [RunPipelineInput])
        return inp  # type: ignore[no-any-return]
    return None


async def _from_store(store: Any, execution_id: str) -> tuple[ExecutionState, str, dict[str, str]]:
    from core.store import NotFoundError

    try:
        execution = await asyncio.to_thread(store.executions.get, execution_id)
        engine = await asyncio.to_thread(store.executions.get_engine, execution_id)
    except NotFoundError:
        raise ExecutionNotFoundError(f"no execution with id {execution_id}") from None
    if not engine or not isinstance(engine.get("pipelineConfig"), dict):
        raise OperationRefusedError(f"execution {execution_id} was stored without what a restart needs")
    state = ExecutionState.from_json(execution, engine)
    queues = engine.get("activityQueues")
    return (
        state,
        str(engine.get("windowTimezone") or DEFAULT_WINDOW_TIMEZONE),
        dict(queues) if isinstance(queues, dict) else {},
    )


async def final_state(client: Client, execution_id: str) -> ExecutionState:
    """The engine's state of a finished execution, from its result (or its failure's details)."""
    handle = client.get_workflow_handle(execution_id, result_type=ExecutionState)
    try:
        return await handle.result()
    except WorkflowFailureError as err:
        state = unwrap_failure(err.cause, ExecutionState)
        if state is None:
            raise OperationRefusedError(f"execution {execution_id} ended without a recorded state") from None
        return state


async def wait_for_execution(client: Client, execution_id: str, *, store: Any = None) -> dict[str, Any]:
    """Wait until an execution finishes (whatever its status) and return its JSON (from ``store`` if given)."""
    handle = client.get_workflow_handle(execution_id)
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()
    return await get_execution(client, execution_id, store=store)


async def _running(client: Client, execution_id: str) -> WorkflowHandle[Any, Any]:
    handle = client.get_workflow_handle(execution_id)
    description = await _describe(handle)
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise OperationRefusedError(f"execution {execution_id} is not running")
    return handle


async def _describe(handle: WorkflowHandle[Any, Any]) -> Any:
    try:
        return await handle.describe()
    except RPCError as err:
        if temporal_not_found(err):
            raise ExecutionNotFoundError(f"no execution with id {handle.id}") from None
        raise
