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

from .execution import StageState

JSON = dict[str, Any]

#: ``workflow.patched`` id of the projection writes, compact stage inputs/results and continue-as-new
PATCH = "projection"
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


async def record(update: JSON, summary: str) -> Any:
    """Apply ``update`` to the store's projection (retried until it lands)."""
    return await workflow.execute_local_activity(
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
