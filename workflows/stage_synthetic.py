"""A stage's synthetic stages: before and after stages (grouped ones in parallel), and its on-failure stages.

Orca plans them around the stage (``StageDefinitionBuilder.beforeStages/afterStages/onFailureStages``); each runs
its own tasks (``workflows/stage_tasks.py``) under its own ``stageTimeoutMs`` and lands in the stage workflow's
stages, with refIds the same in every run (``<parent refId><`` or ``><n>``) so a continued run meets them again.
"""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.status import ExecutionStatus as S

    from .execution import STAGE_AFTER, STAGE_BEFORE, StageState
    from .stage_tasks import _definition, now_ms
    from .stages.base import StageDefinition, SyntheticStage

if TYPE_CHECKING:
    from .stage import StageWorkflow


class SyntheticStages:
    """Adds and runs one stage workflow's synthetic stages (its state lives in the stage workflow)."""

    def __init__(self, wf: StageWorkflow) -> None:
        self.wf = wf

    def add(self, parent: StageState, spec: SyntheticStage, owner: str) -> StageState:
        """Add a synthetic stage (or, in a continued run, meet the one an earlier run added in its place)."""
        count = self.wf.synthetic_calls.get((parent.id, owner), 0) + 1
        self.wf.synthetic_calls[(parent.id, owner)] = count
        marker = "<" if owner == STAGE_BEFORE else ">"
        ref_id = f"{parent.ref_id}{marker}{count}"
        known = next((s for s in self.wf.stages if s.parent_stage_id == parent.id and s.ref_id == ref_id), None)
        if known is not None:
            return known
        stage = StageState(
            id=self.wf._new_id(),
            ref_id=ref_id,
            type=spec.type,
            name=spec.name,
            context=copy.deepcopy(spec.context),
            parent_stage_id=parent.id,
            synthetic_stage_owner=owner,
        )
        self.wf.stages.append(stage)
        self.wf._changed()
        return stage

    async def run(self, parent: StageState, specs: list[SyntheticStage], owner: str) -> bool:
        """Run synthetic stages (grouped ones in parallel); False if one halted the parent."""
        if not specs:
            return True
        batches: list[list[SyntheticStage]] = []
        for spec in specs:
            if batches and spec.parallel_group and batches[-1][0].parallel_group == spec.parallel_group:
                batches[-1].append(spec)
            else:
                batches.append([spec])
        for batch in batches:
            stages = [self.add(parent, spec, owner) for spec in batch]
            await asyncio.gather(*(self._run_one(s) for s in stages))
            worst = _worst([s.status for s in stages])
            if worst == S.TERMINAL:
                self.wf._fail(
                    parent,
                    _error_text(next(s for s in stages if s.status == S.TERMINAL)) or "failed",
                    "SyntheticStageFailed",
                )
                return False
            if worst == S.STOPPED:
                parent.status = S.STOPPED
                parent.end_time = now_ms()
                return False
            if worst == S.FAILED_CONTINUE:
                parent.context.setdefault("_failedContinue", True)
        return True

    async def run_on_failure(self, main: StageState, definition: StageDefinition) -> None:
        """Run the stage's on-failure stages (a rollback), best effort: the stage stays as it failed."""
        specs = definition.on_failure_stages(main.context)
        if not specs:
            return
        status, end_time = main.status, main.end_time
        for spec in specs:
            stage = self.add(main, spec, STAGE_AFTER)
            await self._run_one(stage)
        main.status, main.end_time = status, end_time

    async def _run_one(self, stage: StageState) -> None:
        definition = _definition(stage)
        if stage.status.is_complete:
            return  # a continued run: done before
        if stage.status == S.NOT_STARTED:
            stage.status = S.RUNNING
            stage.start_time = now_ms()
            if self.wf._access_denied(stage, definition):
                return

        async def body() -> None:
            if await self.wf.task_loop.run(stage, definition) == S.SUCCEEDED:
                stage.status = S.SUCCEEDED
                stage.end_time = now_ms()

        if await self.wf._with_timeout(stage, body()):  # a synthetic stage honours its own stageTimeoutMs
            await self.wf._run_cancel_hooks(canceled_only=True)


def _worst(statuses: list[S]) -> S:
    for status in (S.TERMINAL, S.STOPPED, S.CANCELED, S.FAILED_CONTINUE):
        if status in statuses:
            return status
    return S.SUCCEEDED


def _error_text(stage: StageState) -> str | None:
    exc = stage.context.get("exception")
    if isinstance(exc, dict) and isinstance(exc.get("details"), dict):
        return exc["details"].get("error")
    return None
