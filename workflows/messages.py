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
    execution_id: str
    application: str
    stage: StageState
    trigger: JSON = field(default_factory=dict)
    #: the execution as Gate shows it when the stage starts (for #stage(...) and `execution`)
    execution: JSON = field(default_factory=dict)
    #: outputs of ancestor stages, nearest first (bare names in expressions fall back to them)
    ancestor_outputs: list[JSON] = field(default_factory=list)
    window_timezone: str = "America/Los_Angeles"
    activity_queues: dict[str, str] = field(default_factory=dict)
    paused: bool = False
    user: str | None = None
    #: who the stage runs as (``workflows/authorization.py``); empty: the execution's authentication
    authentication: JSON = field(default_factory=dict)


@dataclass
class RunStageResult:
    #: the stage first, then the synthetic stages it added
    stages: list[StageState]

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
