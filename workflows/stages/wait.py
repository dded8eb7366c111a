"""``wait``: hold the pipeline for ``waitTime`` seconds (an expression is fine), unless a user skips the rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.fields import truthy
from core.status import ExecutionStatus

from .base import JSON, PatchRequest, StageDefinition, TaskResult, TaskRuntime, TaskSpec


def wait_seconds(value: Any) -> float:
    """``waitTime`` as Deck writes it: a number, or a string holding one (often the result of an expression)."""
    if isinstance(value, bool):
        raise ValueError("waitTime must be a number of seconds, got a boolean")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            seconds = float(value.strip())
        except ValueError:
            raise ValueError(f"waitTime must be a number of seconds, got {value!r}") from None
    elif value is None:
        seconds = 0.0
    else:
        raise ValueError(f"waitTime must be a number of seconds, got {type(value).__name__}")
    if seconds < 0:
        raise ValueError(f"waitTime must not be negative, got {value!r}")
    return seconds


async def wait(runtime: TaskRuntime) -> TaskResult:
    try:
        seconds = wait_seconds(runtime.context.get("waitTime"))
    except ValueError as err:
        return TaskResult.terminal(str(err))
    until = runtime.stage_start + timedelta(seconds=seconds)
    remaining = until - runtime.now()
    if remaining > timedelta() and not _skipped(runtime.context):
        await runtime.wait_for(lambda: _skipped(runtime.context), remaining, f"wait {seconds:g}s")
    return TaskResult.succeeded()


def _skipped(context: JSON) -> bool:
    return truthy(context.get("skipRemainingWait"))


class WaitStage(StageDefinition):
    type = "wait"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [TaskSpec("wait", "com.netflix.spinnaker.orca.pipeline.tasks.WaitTask", run=wait)]

    def validate_patch(self, context: JSON, status: ExecutionStatus, patch: PatchRequest) -> None:
        super().validate_patch(context, status, patch)
        unknown = set(patch.context) - {"skipRemainingWait", "lastModifiedBy"}
        if unknown:
            raise ValueError(f"a wait stage accepts only skipRemainingWait, not {', '.join(sorted(unknown))}")
