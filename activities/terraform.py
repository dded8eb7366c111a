"""The ``terraform`` stage's activity: one run of terraform (``integrations/terraform/runner.py``), heartbeating.

Heartbeats carry the run's progress (phase, lines seen, the last line); a cancel reaches the activity through
them, and the runner then interrupts terraform and waits for it to release the state lock before the
activity ends canceled. Bad input is a TERMINAL result naming the field, never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity

from core.settings.terraform import TerraformSettings
from core.status import ExecutionStatus
from core.tasks import JSON, RUN_TERRAFORM, TaskInput, TaskResult
from integrations.outbound import policy_from
from integrations.terraform.context import InvalidTerraformStage, parse
from integrations.terraform.runner import RunRequest, TerraformRunner

HEARTBEAT_EVERY_S = 2.0


def resolver(task: TaskInput) -> Callable[[str], JSON | None]:
    """Finds an expected artifact (``{id}``) an upstream stage bound, nearest stage first."""

    def resolve(artifact_id: str) -> JSON | None:
        for outputs in task.ancestor_outputs:
            for bound in outputs.get("resolvedExpectedArtifacts") or []:
                if isinstance(bound, dict) and bound.get("id") == artifact_id and bound.get("boundArtifact"):
                    return dict(bound["boundArtifact"])
        return None

    return resolve


class TerraformActivities:
    def __init__(self, runner: TerraformRunner) -> None:
        self.runner = runner

    @activity.defn(name=RUN_TERRAFORM)
    async def run_terraform(self, task: TaskInput) -> TaskResult:
        """Run the stage's action; the result's ``status`` is Armory's, the plan's artifact is in ``artifacts``."""
        info = activity.info()
        try:
            job = parse(task.context, resolver(task))
        except InvalidTerraformStage as err:
            return _terminal(str(err), {"id": None, "state": "FAILED", "error": str(err), "code": None})
        progress: JSON = {"phase": "start", "lines": 0, "last": ""}

        def seen(phase: str, stream: str, line: str) -> None:
            progress["phase"] = phase
            if stream in ("stdout", "stderr"):
                progress["lines"] += 1
                progress["last"] = line[-200:]

        async def beat() -> None:
            while True:
                activity.heartbeat(dict(progress))
                await asyncio.sleep(HEARTBEAT_EVERY_S)

        beating = asyncio.create_task(beat())
        request = RunRequest(task.execution_id, task.application, task.stage_id, attempt=info.attempt)
        limit = self.runner.settings.run_timeout_s
        try:
            result = await asyncio.wait_for(self.runner.run(job, request, seen), limit)
        except TimeoutError:  # terraform was interrupted (and waited for) like a cancel
            error = f"terraform {job.action} took longer than terraform.run_timeout_s ({limit:g} s) and was interrupted"
            return _terminal(error, {"id": None, "state": "FAILED", "error": error, "code": None})
        except InvalidTerraformStage as err:
            return _terminal(str(err), {"id": None, "state": "FAILED", "error": str(err), "code": None})
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        outputs: JSON = {"status": result.status}
        if result.artifacts:
            outputs["artifacts"] = result.artifacts
            expected = job.expected_planfile
            if expected is not None:
                bound = {**expected, "boundArtifact": result.artifacts[0]}
                outputs["resolvedExpectedArtifacts"] = [bound]
        if not result.ok:
            return TaskResult(
                ExecutionStatus.TERMINAL, context={"status": result.status}, outputs=outputs, error=result.error
            )
        return TaskResult(ExecutionStatus.SUCCEEDED, context={"status": result.status}, outputs=outputs)


def _terminal(error: str, status: JSON) -> TaskResult:
    return TaskResult(ExecutionStatus.TERMINAL, context={"status": status}, outputs={"status": status}, error=error)


def settings_of(settings: Any) -> TerraformSettings:
    configured = getattr(settings, "terraform", None)
    if isinstance(configured, dict):
        return TerraformSettings.model_validate(configured)
    return configured if isinstance(configured, TerraformSettings) else TerraformSettings()


def build(settings: Any, store: Any) -> list[Callable[..., Any]]:
    """The terraform activity, wired to the operator's settings, the store and the outbound policy."""
    runner = TerraformRunner(
        settings_of(settings), store, policy_from(settings), Path(getattr(settings, "state_dir", ".gennaker"))
    )
    return [TerraformActivities(runner).run_terraform]
