"""Execution state as the engine keeps it, and as Gate shows it.

The pipeline workflow holds one :class:`ExecutionState`; each stage workflow one
:class:`StageState` per stage it runs (the stage and its synthetic stages). ``to_json`` gives
Spinnaker's execution JSON: camelCase keys, epoch-millisecond times, nulls omitted.
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from typing import Any

from core.fields import truthy
from core.status import ExecutionStatus
from core.summaries import summary_context

JSON = dict[str, Any]

PIPELINE = "PIPELINE"
ORCHESTRATION = "ORCHESTRATION"
STAGE_BEFORE = "STAGE_BEFORE"
STAGE_AFTER = "STAGE_AFTER"


def _same(value: Any) -> Any:
    return value


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


#: the stage context keys a restart from the store keeps besides the stage's config
RESTART_KEYS = ("exception", "judgmentStatus", "judgmentInput", "lastModifiedBy", "restartDetails")


def _configs_by_ref(config: JSON) -> dict[str, JSON]:
    """A pipeline config's stages by refId, numbered as the engine numbers a config without refIds."""
    stages = [s for s in config.get("stages") or [] if isinstance(s, dict)]
    linear = bool(stages) and not any(s.get("refId") is not None for s in stages)
    out: dict[str, JSON] = {}
    for i, stage in enumerate(stages):
        ref = str(i) if linear else str(stage.get("refId"))
        context = dict(stage)
        if linear:
            context["refId"], context["requisiteStageRefIds"] = ref, [str(i - 1)] if i else []
        out[ref] = context
    return out


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
        if truthy(ctx.get("continuePipeline")):
            return ExecutionStatus.FAILED_CONTINUE
        if ctx.get("failPipeline") is None or truthy(ctx.get("failPipeline")):
            return ExecutionStatus.TERMINAL
        return ExecutionStatus.STOPPED


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

    @classmethod
    def from_json(cls, execution: JSON, engine: JSON) -> ExecutionState:
        """The engine's state of an execution from the store's copy (Gate's JSON and the engine data),
        for a restart after Temporal has forgotten the workflow. Stages keep their config context
        (from the pipeline config) plus what the pipeline's rules read, as the workflow keeps them."""
        raw_config = engine.get("pipelineConfig")
        config: JSON = raw_config if isinstance(raw_config, dict) else {}
        configured = _configs_by_ref(config)
        stages = []
        for raw in execution.get("stages") or []:
            if not isinstance(raw, dict):
                continue
            parent = raw.get("parentStageId")
            raw_context = raw.get("context")
            stored: JSON = raw_context if isinstance(raw_context, dict) else {}
            context = _copy.deepcopy(configured.get(str(raw.get("refId")), {})) if parent is None else {}
            context.update({k: _copy.deepcopy(stored[k]) for k in RESTART_KEYS if k in stored})
            stages.append(
                StageState(
                    id=str(raw["id"]),
                    ref_id=str(raw.get("refId")),
                    type=str(raw.get("type")),
                    name=str(raw.get("name") or raw.get("type")),
                    context=context,
                    status=ExecutionStatus(raw.get("status") or "NOT_STARTED"),
                    requisite_stage_ref_ids=list(raw.get("requisiteStageRefIds") or []),
                    start_time=raw.get("startTime"),
                    end_time=raw.get("endTime"),
                    parent_stage_id=parent,
                    synthetic_stage_owner=raw.get("syntheticStageOwner"),
                    last_modified=raw.get("lastModified"),
                    scheduled_time=raw.get("scheduledTime"),
                )
            )
        paused = execution.get("paused")
        return cls(
            id=str(execution["id"]),
            type=str(engine.get("type") or execution.get("type") or PIPELINE),
            application=str(execution.get("application") or ""),
            name=execution.get("name"),
            status=ExecutionStatus(execution.get("status") or "NOT_STARTED"),
            pipeline_config_id=execution.get("pipelineConfigId"),
            description=execution.get("description"),
            build_time=execution.get("buildTime"),
            start_time=execution.get("startTime"),
            end_time=execution.get("endTime"),
            start_time_expiry=execution.get("startTimeExpiry"),
            canceled=bool(execution.get("canceled")),
            canceled_by=execution.get("canceledBy"),
            cancellation_reason=execution.get("cancellationReason"),
            limit_concurrent=bool(execution.get("limitConcurrent")),
            max_concurrent_executions=int(execution.get("maxConcurrentExecutions") or 0),
            keep_waiting_pipelines=bool(execution.get("keepWaitingPipelines")),
            stages=stages,
            trigger=_copy.deepcopy(engine.get("trigger") or execution.get("trigger") or {}),
            authentication=_copy.deepcopy(engine.get("authentication") or execution.get("authentication") or {}),
            paused={k: v for k, v in paused.items() if k != "isPaused"} if isinstance(paused, dict) else None,
            origin=str(engine.get("origin") or execution.get("origin") or "api"),
            notifications=_copy.deepcopy(execution.get("notifications") or []),
            initial_config=_copy.deepcopy(execution.get("initialConfig") or {}),
            system_notifications=_copy.deepcopy(execution.get("systemNotifications") or []),
            spel_evaluator=execution.get("spelEvaluator"),
            source=execution.get("source"),
            template_variables=execution.get("templateVariables"),
            pipeline_config=_copy.deepcopy(config),
        )

    def _paused_json(self) -> JSON | None:
        if not self.paused:
            return None
        p = dict(self.paused)
        pause_time, resume_time = p.get("pauseTime"), p.get("resumeTime")
        p["isPaused"] = resume_time is None
        if pause_time is not None and resume_time is not None:
            p["pausedMs"] = p.get("pausedMs", 0)
        return _drop_none(p)
