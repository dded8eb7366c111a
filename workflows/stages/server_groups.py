"""One server group at a time: ``disableServerGroup``, ``enableServerGroup``, ``destroyServerGroup``,
``resizeServerGroup``. Each first resolves its target (``target: current_asg_dynamic`` and friends,
or ``serverGroupName``) once, then acts on that group by name."""

from __future__ import annotations

from datetime import timedelta

from . import register
from .base import JSON, StageDefinition, TaskSpec

ORCA = "com.netflix.spinnaker.orca.clouddriver.tasks.servergroup."


def _determine() -> TaskSpec:
    return TaskSpec(
        "determineTargetServerGroup", ORCA + "DetermineTargetServerGroupTask", activity="server_group_determine_target"
    )


@register
class DisableServerGroupStage(StageDefinition):
    type = "disableServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _determine(),
            TaskSpec("disableServerGroup", ORCA + "DisableServerGroupTask", activity="server_group_disable"),
        ]


@register
class EnableServerGroupStage(StageDefinition):
    type = "enableServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _determine(),
            TaskSpec("enableServerGroup", ORCA + "EnableServerGroupTask", activity="server_group_enable"),
        ]


@register
class DestroyServerGroupStage(StageDefinition):
    type = "destroyServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _determine(),
            TaskSpec("destroyServerGroup", ORCA + "DestroyServerGroupTask", activity="server_group_destroy"),
        ]


@register
class ResizeServerGroupStage(StageDefinition):
    type = "resizeServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _determine(),
            TaskSpec("resizeServerGroup", ORCA + "ResizeServerGroupTask", activity="server_group_resize"),
            TaskSpec(
                "waitForCapacityMatch",
                ORCA + "WaitForCapacityMatchTask",
                activity="server_group_wait_for_capacity",
                polling=True,
                backoff=timedelta(seconds=10),
                timeout=timedelta(hours=2),  # Orca's AbstractInstancesCheckTask
            ),
        ]


@register
class RollbackServerGroupStage(StageDefinition):
    """``rollbackServerGroup`` with ``rollbackType: EXPLICIT``: bring ``restoreServerGroupName`` back in
    (enabled, at least the rolled-back group's size, its instances Up), then disable ``rollbackServerGroupName``."""

    type = "rollbackServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        step = "server_group_rollback"
        return [
            TaskSpec("determineRollback", ORCA + "DetermineRollbackCandidatesTask", activity=step),
            TaskSpec("enableRestoreServerGroup", ORCA + "EnableServerGroupTask", activity=step),
            TaskSpec("resizeRestoreServerGroup", ORCA + "ResizeServerGroupTask", activity=step),
            TaskSpec(
                "waitForRestoredInstances",
                "com.netflix.spinnaker.orca.clouddriver.tasks.instance.WaitForUpInstancesTask",
                activity=step,
                polling=True,
                backoff=timedelta(seconds=10),
                timeout=timedelta(hours=2),  # Orca's AbstractInstancesCheckTask
            ),
            TaskSpec("disableRollbackServerGroup", ORCA + "DisableServerGroupTask", activity=step),
        ]
