"""The ``terraform`` stage (Armory's Terraformer): ``runTerraform``, one heartbeating activity per run.

Armory's stage submits a job to its Terraformer service and polls it (``runTerraform`` → ``monitorRunTerraform``);
here the activity runs terraform itself, streaming its progress in heartbeats, so the stage has one task. The
work lives in ``activities/terraform.py`` and ``integrations/terraform/``; this module is pure (workflow sandbox).
"""

from __future__ import annotations

from datetime import timedelta

from core.tasks import RUN_TERRAFORM

from .base import JSON, StageDefinition, TaskSpec

RUN_TASK_CLASS = "io.armory.spinnaker.orca.terraformer.tasks.RunTerraformTask"
#: one run: checkout, init and the action
RUN_TIMEOUT = timedelta(hours=2)
#: a worker that dies mid-run is noticed this fast (the next attempt then reports instead of applying again)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)


class TerraformStage(StageDefinition):
    """Armory's ``terraform`` stage: plan, apply, destroy, output or show, as its context says."""

    type = "terraform"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "runTerraform",
                RUN_TASK_CLASS,
                activity=RUN_TERRAFORM,
                timeout=RUN_TIMEOUT,
                start_to_close=RUN_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                needs_ancestors=True,
            )
        ]
