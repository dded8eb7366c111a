"""``restrictExecutionDuringTimeWindow``: the synthetic stage that holds a stage until its window opens.

The stage runner adds it before any stage with ``restrictExecutionDuringTimeWindow: true`` and
waits in it (SUSPENDED); a user may skip the rest of the wait with ``skipRemainingWait``, as
Deck's "skip execution window" does. See ``docs/execution-windows.md``.
"""

from __future__ import annotations

from core.status import ExecutionStatus

from .base import JSON, PatchRequest, StageDefinition, TaskSpec


class ExecutionWindowStage(StageDefinition):
    type = "restrictExecutionDuringTimeWindow"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return []  # the runner waits for the window itself (workflows/stage.py, _run_window)

    def validate_patch(self, context: JSON, status: ExecutionStatus, patch: PatchRequest) -> None:
        super().validate_patch(context, status, patch)
        if set(patch.context) - {"skipRemainingWait", "lastModifiedBy"}:
            raise ValueError("an execution window accepts only skipRemainingWait")
