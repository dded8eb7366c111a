"""Execution state as the engine keeps it, and as Gate shows it.

The pipeline workflow holds one :class:`ExecutionState`; each stage workflow one
:class:`StageState` per stage it runs (the stage and its synthetic stages). ``to_json`` gives
Spinnaker's execution JSON: camelCase keys, epoch-millisecond times, nulls omitted.
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from typing import Any

from .status import ExecutionStatus

JSON = dict[str, Any]

PIPELINE = "PIPELINE"
ORCHESTRATION = "ORCHESTRATION"
STAGE_BEFORE = "STAGE_BEFORE"
STAGE_AFTER = "STAGE_AFTER"


def _same(value: Any) -> Any:
    return value


def summary_context(context: Any) -> JSON:
    """A stage context as Gate's ``expand=false`` shows it: only ``group`` is kept."""
    group = context.get("group") if isinstance(context, dict) else None
    return {"group": group} if group is not None else {}


def strip_execution(execution: JSON) -> JSON:
    """An execution's JSON as Gate's ``expand=false`` shows it: stage contexts cut to ``group``,
    no outputs, no tasks. The one implementation the engine, the API and the store share."""
    stages = [
        {**stage, "context": summary_context(stage.get("context")), "outputs": {}, "tasks": []}
        for stage in execution.get("stages") or []
        if isinstance(stage, dict)
    ]
    return {**execution, "stages": stages}


#: what a child pipeline's ``trigger.parentExecution`` carries of its parent; anything deeper (stages,
#: their contexts and outputs) is read from the store when an expression asks for it
REFERENCE_KEYS = (
    "id",
    "type",
    "application",
    "name",
    "description",
    "status",
    "pipelineConfigId",
    "buildTime",
    "startTime",
    "endTime",
    "authentication",
    "origin",
)


def execution_reference(execution: JSON, *, with_trigger: bool = True) -> JSON:
    """A small reference to an execution (for ``trigger.parentExecution``), never its stages.

    The parent's own trigger comes along (bakes and expressions read its parameters and artifacts),
    its ``parentExecution`` in turn cut to a reference without a trigger, so chains stay small."""
    ref = {k: _copy.deepcopy(execution[k]) for k in REFERENCE_KEYS if execution.get(k) is not None}
    trigger = execution.get("trigger")
    if with_trigger and isinstance(trigger, dict):
        trigger = dict(trigger)
        parent = trigger.get("parentExecution")
        if isinstance(parent, dict):
            trigger["parentExecution"] = execution_reference(parent, with_trigger=False)
        ref["trigger"] = _copy.deepcopy(trigger)
    return ref


def is_reference(execution: Any) -> bool:
    """A ``parentExecution`` that is a reference (no stages): the store has the rest."""
    return isinstance(execution, dict) and "stages" not in execution and bool(execution.get("id"))


def _drop_none(d: JSON) -> JSON:
    return {k: v for k, v in d.items() if v is not None}


@dataclass
class TaskState:
    id: str
    name: str
    implementing_class: str
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    start_time: int | None = None
    end_time: int | None = None
    stage_start: bool = False
    stage_end: bool = False

    def to_json(self) -> JSON:
        return _drop_none(
            {
                "id": self.id,
                "name": self.name,
                "implementingClass": self.implementing_class,
                "status": self.status.value,
                "startTime": self.start_time,
                "endTime": self.end_time,
                "stageStart": self.stage_start,
                "stageEnd": self.stage_end,
                "loopStart": False,
                "loopEnd": False,
            }
        )


@dataclass
class StageState:
    id: str
    ref_id: str
    type: str
    name: str
    context: JSON
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    outputs: JSON = field(default_factory=dict)
    requisite_stage_ref_ids: list[Any] = field(default_factory=list)
    start_time: int | None = None
    end_time: int | None = None
    parent_stage_id: str | None = None
    synthetic_stage_owner: str | None = None
    tasks: list[TaskState] = field(default_factory=list)
    last_modified: JSON | None = None
    scheduled_time: int | None = None
    #: the child workflow running this stage (engine-internal; not part of Gate's JSON)
    workflow_id: str | None = None

    @property
    def is_synthetic(self) -> bool:
        return self.parent_stage_id is not None

    def to_json(self, *, expand: bool = True, copy: bool = True) -> JSON:
        clone = _copy.deepcopy if copy else _same
        body: JSON = {
            "id": self.id,
            "refId": self.ref_id,
            "type": self.type,
            "name": self.name,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "status": self.status.value,
            "context": clone(self.context),
            "outputs": clone(self.outputs),
            "tasks": [t.to_json() for t in self.tasks],
            "requisiteStageRefIds": list(self.requisite_stage_ref_ids),
            "parentStageId": self.parent_stage_id,
            "syntheticStageOwner": self.synthetic_stage_owner,
            "lastModified": self.last_modified,
            "scheduledTime": self.scheduled_time,
        }
        if not expand:
            body["context"] = summary_context(self.context)
            body["outputs"] = {}
            body["tasks"] = []
        return _drop_none(body)

    def failure_status(self) -> ExecutionStatus:
        """Orca's ``failureStatus()``: what a failed task makes of this stage."""
        ctx = self.context
        if _truthy(ctx.get("continuePipeline")):
            return ExecutionStatus.FAILED_CONTINUE
        if ctx.get("failPipeline") is None or _truthy(ctx.get("failPipeline")):
            return ExecutionStatus.TERMINAL
        return ExecutionStatus.STOPPED


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


@dataclass
class ExecutionState:
    id: str
    type: str
    application: str
    name: str | None
    status: ExecutionStatus = ExecutionStatus.NOT_STARTED
    pipeline_config_id: str | None = None
    description: str | None = None
    build_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    start_time_expiry: int | None = None
    canceled: bool = False
    canceled_by: str | None = None
    cancellation_reason: str | None = None
    limit_concurrent: bool = False
    max_concurrent_executions: int = 0
    keep_waiting_pipelines: bool = False
    stages: list[StageState] = field(default_factory=list)
    trigger: JSON = field(default_factory=dict)
    authentication: JSON = field(default_factory=dict)
    paused: JSON | None = None
    origin: str = "api"
    notifications: list[Any] = field(default_factory=list)
    initial_config: JSON = field(default_factory=dict)
    system_notifications: list[Any] = field(default_factory=list)
    spel_evaluator: str | None = None
    source: JSON | None = None
    template_variables: JSON | None = None
    #: the pipeline config this execution was started from (engine-internal; restarts re-read it)
    pipeline_config: JSON = field(default_factory=dict)

    def stage_by_id(self, stage_id: str) -> StageState | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def top_level(self) -> list[StageState]:
        return [s for s in self.stages if s.parent_stage_id is None]

    def stage_by_ref(self, ref_id: str) -> StageState | None:
        return next((s for s in self.stages if s.ref_id == ref_id and s.parent_stage_id is None), None)

    def to_json(self, *, expand: bool = True, copy: bool = True) -> JSON:
        """Gate's JSON. ``copy=False`` shares nested maps with the state: for serialising at once only."""
        clone = _copy.deepcopy if copy else _same
        body: JSON = {
            "id": self.id,
            "type": self.type,
            "application": self.application,
            "name": self.name,
            "description": self.description,
            "pipelineConfigId": self.pipeline_config_id,
            "status": self.status.value,
            "buildTime": self.build_time,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "startTimeExpiry": self.start_time_expiry,
            "canceled": self.canceled,
            "canceledBy": self.canceled_by,
            "cancellationReason": self.cancellation_reason,
            "limitConcurrent": self.limit_concurrent,
            "keepWaitingPipelines": self.keep_waiting_pipelines,
            "maxConcurrentExecutions": self.max_concurrent_executions or None,
            "stages": [s.to_json(expand=expand, copy=copy) for s in self.stages],
            "trigger": clone(self.trigger),
            "authentication": clone(self.authentication),
            "paused": self._paused_json(),
            "origin": self.origin,
            "notifications": clone(self.notifications),
            "initialConfig": clone(self.initial_config),
            "systemNotifications": clone(self.system_notifications),
            "spelEvaluator": self.spel_evaluator,
            "source": self.source,
            "templateVariables": self.template_variables,
        }
        return _drop_none(body)

    def _paused_json(self) -> JSON | None:
        if not self.paused:
            return None
        p = dict(self.paused)
        pause_time, resume_time = p.get("pauseTime"), p.get("resumeTime")
        p["isPaused"] = resume_time is None
        if pause_time is not None and resume_time is not None:
            p["pausedMs"] = p.get("pausedMs", 0)
        return _drop_none(p)
