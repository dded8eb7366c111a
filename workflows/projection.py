"""How the engine's workflows write the store's projection of an execution and read it back.

The pipeline and stage workflows write their part of the execution at every transition with the
local activity ``record_execution_update`` (its input never enters history, only a small marker)
and read the whole execution with ``load_execution`` when an expression or a task needs more than
its own stage. Writes carry a version (workflow time in ms * 1000 + a counter) so that a later
write never loses to an earlier one, and are retried until they land: a database outage delays a
pipeline, it never loses its record. See docs/engine.md ("Data model").
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from core.status import ExecutionStatus

from .execution import StageState, TaskState
from .stages import resolve

JSON = dict[str, Any]

#: how long a stage whose start the pipeline recorded holds its own first write, to make it one with its end
FIRST_WRITE_AFTER = timedelta(seconds=1)
#: a stage hands its end row over only when what the pipeline does not already hold of it is this small (JSON)
END_HANDOFF_MAX_BYTES = 4_096
RECORD = "record_execution_update"
LOAD = "load_execution"
#: top-level stage i sorts at i * SEQ_STRIDE in Gate's JSON, its synthetic stages right after it
SEQ_STRIDE = 100_000
#: a workflow continues as new once its history has this many events (or Temporal suggests it)
CONTINUE_AFTER_EVENTS = 10_000
#: the context keys a stage's compact result keeps (what the pipeline reads: failures, judgments)
RESULT_KEYS = ("exception", "judgmentStatus", "judgmentInput", "lastModifiedBy", "restartDetails")
MAX_ERROR_CHARS = 2_000
MAX_ERRORS = 5

#: until it lands: a store that is down for minutes holds the workflow up, it does not lose the write
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=10)
)
STORE_START_TO_CLOSE = timedelta(seconds=30)
STORE_SCHEDULE_TO_CLOSE = timedelta(days=30)


class Versions:
    """The versions one workflow run writes with: strictly increasing, ``now_ms * 1000 + n``."""

    def __init__(self, last: int = 0) -> None:
        self.last = last

    def next(self) -> int:
        now = int(workflow.now().timestamp() * 1000) * 1000
        self.last = max(now, self.last + 1)
        return self.last


async def record(update: JSON, summary: str) -> None:
    """Apply ``update`` to the store's projection (retried until it lands)."""
    await workflow.execute_local_activity(
        RECORD,
        update,
        start_to_close_timeout=STORE_START_TO_CLOSE,
        schedule_to_close_timeout=STORE_SCHEDULE_TO_CLOSE,
        retry_policy=STORE_RETRY,
        summary=summary,
    )


async def load(execution_id: str) -> JSON:
    """The execution's Gate JSON from the store (the result lands in this workflow's history only)."""
    try:
        result = await workflow.execute_local_activity(
            LOAD,
            execution_id,
            start_to_close_timeout=STORE_START_TO_CLOSE,
            schedule_to_close_timeout=STORE_SCHEDULE_TO_CLOSE,
            retry_policy=STORE_RETRY,
            summary=f"load execution {execution_id}",
        )
    except ActivityError as err:  # not in the store (a deleted parent): expressions see nothing of it
        workflow.logger.warning("could not load execution %s: %s", execution_id, err.cause or err)
        return {}
    return result if isinstance(result, dict) else {}


def should_continue(limit: int = 0) -> bool:
    """Has this run's history grown enough to continue as new?"""
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() >= (limit or CONTINUE_AFTER_EVENTS)


def compact_stage(stage: StageState) -> StageState:
    """The stage as the pipeline keeps it: no outputs, no tasks, only :data:`RESULT_KEYS` of its context."""
    context = {k: copy.deepcopy(stage.context[k]) for k in RESULT_KEYS if k in stage.context}
    if isinstance(context.get("exception"), dict):
        context["exception"] = _small_exception(context["exception"])
    return StageState(
        id=stage.id,
        ref_id=stage.ref_id,
        type=stage.type,
        name=stage.name,
        context=context,
        status=stage.status,
        requisite_stage_ref_ids=list(stage.requisite_stage_ref_ids),
        start_time=stage.start_time,
        end_time=stage.end_time,
        parent_stage_id=stage.parent_stage_id,
        synthetic_stage_owner=stage.synthetic_stage_owner,
        last_modified=copy.deepcopy(stage.last_modified),
        scheduled_time=stage.scheduled_time,
    )


def end_row_delta(base_context: JSON, stage: StageState) -> JSON:
    """What the pipeline needs, besides its compact copy of ``stage`` and the context it started it with, to write
    the stage's end row as the stage would have (:func:`end_row`). It goes into two histories (the stage's result),
    so it is terse: changed and removed context keys and outputs only when there are any, tasks as lists."""
    context = {k: v for k, v in stage.context.items() if k not in base_context or base_context[k] != v}
    removed = [k for k in base_context if k not in stage.context]
    planned = _planned_tasks(stage.type, stage.context)
    tasks = [_task_list(t) for t in stage.tasks]
    if planned is not None and [t[:3] + t[6:] for t in tasks] == planned:
        tasks = [t[3:6] for t in tasks]  # the plan gives the rest: the pipeline plans the same from the same context
    delta: JSON = {"tasks": tasks}
    if context:
        delta["context"] = copy.deepcopy(context)
    if removed:
        delta["removed"] = removed
    if stage.outputs:
        delta["outputs"] = copy.deepcopy(stage.outputs)
    return delta


def end_row(base_context: JSON, compact: StageState, delta: JSON, seq: int, version: int) -> JSON:
    """The stage's end row (``{seq, stage, version}`` of an update's ``stages``), the same JSON the stage workflow
    writes: the compact stage's header, the start context with the stage's changes, its outputs and tasks.

    ``version`` is the pipeline's, taken as it received the row: above the stage's start row (the pipeline's too),
    and the stage wrote nothing (else it writes its own end)."""
    removed = set(delta.get("removed") or [])
    context = {k: copy.deepcopy(v) for k, v in base_context.items() if k not in removed}
    context.update(copy.deepcopy(delta.get("context") or {}))
    row = compact.to_json(copy=False)
    row["context"], row["outputs"] = context, delta.get("outputs") or {}
    tasks = delta.get("tasks") or []
    if tasks and len(tasks[0]) == 3:  # statuses and times of the tasks the stage's definition plans
        planned = _planned_tasks(compact.type, context) or []
        tasks = [p[:3] + t + p[3:] for p, t in zip(planned, tasks, strict=True)]
    row["tasks"] = [_task_from_list(t).to_json() for t in tasks]
    return {"seq": seq, "stage": row, "version": version}


def _planned_tasks(stage_type: str, context: JSON) -> list[list[Any]] | None:
    """The tasks a stage's definition plans for ``context`` as the task loop creates them (id, name, implementing
    class, first, last), or None if it plans none it can say."""
    try:
        specs = resolve(stage_type, context.get("alias")).tasks(context)
    except Exception:  # noqa: BLE001 - the stage's own run reported that
        return None
    last = len(specs) - 1
    return [[str(i + 1), spec.name, spec.implementing_class, i == 0, i == last] for i, spec in enumerate(specs)]


def _task_list(task: TaskState) -> list[Any]:
    t = task
    return [t.id, t.name, t.implementing_class, t.status.value, t.start_time, t.end_time, t.stage_start, t.stage_end]


def _task_from_list(values: list[Any]) -> TaskState:
    task_id, name, implementing_class, status, start, end, stage_start, stage_end = values
    return TaskState(task_id, name, implementing_class, ExecutionStatus(status), start, end, stage_start, stage_end)


def _small_exception(exc: JSON) -> JSON:
    out = {k: v for k, v in exc.items() if k != "details"}
    details = exc.get("details")
    if isinstance(details, dict):
        error = details.get("error")
        errors = details.get("errors")
        out["details"] = {
            **({"error": _cut(error)} if error is not None else {}),
            **({"errors": [_cut(e) for e in errors[:MAX_ERRORS]]} if isinstance(errors, list) else {}),
        }
    return out


def _cut(value: Any) -> Any:
    return value[:MAX_ERROR_CHARS] if isinstance(value, str) else value


def latest_rows(*batches: dict[str, JSON]) -> dict[str, JSON]:
    """Stage rows waiting to be written, one per stage: the highest version wins. A stage can end before its start
    row is written (a short stage whose start write waited on a worker restart): its end row, the later one, must
    not be replaced by its start row."""
    rows: dict[str, JSON] = {}
    for batch in batches:
        for stage_id, row in batch.items():
            if stage_id not in rows or row["version"] > rows[stage_id]["version"]:
                rows[stage_id] = row
    return rows
