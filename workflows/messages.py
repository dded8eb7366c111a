"""The inputs and results of the engine's workflows, and how a failed one carries its result.

Kept apart from the workflow modules so that the client side, the pipeline workflow and the stage
workflow can all import them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.converter import value_to_type
from temporalio.exceptions import ApplicationError, ChildWorkflowError

from .execution import PIPELINE, ExecutionState, StageState
from .stages.base import PatchRequest

#: the stage workflow's PATCH update takes the same object a stage definition validates
PatchStageInput = PatchRequest

JSON = dict[str, Any]
STAGE_FAILED = "StageFailed"
PIPELINE_FAILED = "PipelineFailed"


@dataclass
class RunStageInput:
    """What one stage workflow needs: its own config and references, never a copy of the execution.

    Whatever else an expression or a task reads of the execution (``execution``, ``#stage(...)``,
    ancestors' outputs, the parent pipeline) the stage workflow loads from the store's projection
    (the local activity ``load_execution``) at the point it needs it; its ancestry comes from that
    view too (the stage's ``requisiteStageRefIds`` walked breadth-first), so that no input grows with
    the number of stages before it.
    """

    execution_id: str
    application: str
    stage: StageState
    trigger: JSON = field(default_factory=dict)
    #: the execution as Gate showed it: only in inputs recorded by the previous release
    execution: JSON = field(default_factory=dict)
    #: ancestors' outputs, nearest first: only in inputs recorded by the previous release
    ancestor_outputs: list[JSON] = field(default_factory=list)
    window_timezone: str = "America/Los_Angeles"
    activity_queues: dict[str, str] = field(default_factory=dict)
    paused: bool = False
    user: str | None = None
    #: who the stage runs as (``workflows/authorization.py``); empty: the execution's authentication
    authentication: JSON = field(default_factory=dict)
    pipeline_name: str | None = None
    pipeline_config_id: str | None = None
    execution_type: str = PIPELINE
    #: where the stage's rows sort in Gate's JSON (its synthetic stages follow it)
    seq: int = 0
    #: continue as new once the history has this many events (0: the engine's default)
    continue_after_events: int = 0
    #: the stage workflow carries on after continue-as-new (None on the first run)
    resume: StageResume | None = None
    #: the version the pipeline writes the stage's RUNNING row with, as the child starts (0: the stage writes its
    #: own start at once, as the previous release did); every version the stage writes is higher
    start_version: int = 0


@dataclass
class StageResume:
    """A stage workflow's state across continue-as-new: its stages and where its tasks stand."""

    stages: list[StageState]
    skip_requested: list[str] = field(default_factory=list)
    #: the running task's first start (its timeout counts from there) and polls so far
    task_started_ms: int = 0
    poll: int = 0
    #: the stage (this workflow's own or a synthetic one) whose task was polling
    stage_id: str = ""


@dataclass
class RunStageResult:
    """The stage and its synthetic stages, compact: statuses, times, ids and the few context keys
    the pipeline reads (the store has the rest)."""

    #: the stage first, then the synthetic stages it added
    stages: list[StageState]
    #: the stage's end row, not yet in the store: the pipeline writes it (``projection.end_row_delta``; None: the
    #: stage wrote its end itself)
    end_row: JSON | None = None

    @property
    def stage(self) -> StageState:
        return self.stages[0]


@dataclass
class RunPipelineInput:
    execution_id: str
    config: dict[str, Any]
    trigger: dict[str, Any] = field(default_factory=dict)
    type: str = PIPELINE
    authentication: dict[str, Any] = field(default_factory=dict)
    origin: str = "api"
    build_time_ms: int | None = None
    window_timezone: str = "America/Los_Angeles"
    activity_queues: dict[str, str] = field(default_factory=dict)
    #: a finished execution being restarted (a new run of the same workflow id)
    resume: ExecutionState | None = None
    restart_stage_id: str | None = None
    restart_user: str | None = None
    #: set when the pipeline continues as new: what the previous run held besides the execution
    continued: PipelineCarry | None = None
    #: continue as new once the history has this many events (0: the engine's default)
    continue_after_events: int = 0


@dataclass
class PipelineCarry:
    """The pipeline workflow's state besides the execution, carried across continue-as-new."""

    paused: bool = False
    cancel_request: CancelRequest | None = None
    admitted: bool = False
    restarts: list[RestartStageInput] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    halting: bool = False
    version: int = 0


@dataclass
class CancelRequest:
    user: str = "anonymous"
    reason: str | None = None


@dataclass
class RestartStageInput:
    stage_id: str
    user: str = "anonymous"


def unwrap_failure(err: BaseException, result_type: type) -> Any | None:
    """The result a failed stage/pipeline workflow attached to its ApplicationError, if any."""
    cause = err.cause if isinstance(err, ChildWorkflowError) else err
    if isinstance(cause, ApplicationError) and cause.type in (STAGE_FAILED, PIPELINE_FAILED) and cause.details:
        return value_to_type(result_type, cause.details[0], [])
    return None
