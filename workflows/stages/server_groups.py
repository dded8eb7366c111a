"""One server group at a time: ``disableServerGroup``, ``enableServerGroup``, ``destroyServerGroup``,
``resizeServerGroup``. Each first resolves its target (``target: current_asg_dynamic`` and friends,
or ``serverGroupName``) once, then acts on that group by name."""

from __future__ import annotations

from datetime import timedelta

from .base import JSON, StageDefinition, SyntheticStage, TaskSpec

ORCA = "com.netflix.spinnaker.orca.clouddriver.tasks.servergroup."


def _determine() -> TaskSpec:
    return TaskSpec(
        "determineTargetServerGroup", ORCA + "DetermineTargetServerGroupTask", activity="server_group_determine_target"
    )


class DisableServerGroupStage(StageDefinition):
    type = "disableServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _determine(),
            TaskSpec("disableServerGroup", ORCA + "DisableServerGroupTask", activity="server_group_disable"),
        ]


class EnableServerGroupStage(StageDefinition):
    type = "enableServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _determine(),
            TaskSpec("enableServerGroup", ORCA + "EnableServerGroupTask", activity="server_group_enable"),
        ]


class DestroyServerGroupStage(StageDefinition):
    type = "destroyServerGroup"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _determine(),
            TaskSpec("destroyServerGroup", ORCA + "DestroyServerGroupTask", activity="server_group_destroy"),
        ]


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


class RollbackServerGroupStage(StageDefinition):
    """``rollbackServerGroup``. ``rollbackType: EXPLICIT``: bring ``restoreServerGroupName`` back in (enabled, at
    least the rolled-back group's size, its instances Up), then disable ``rollbackServerGroupName``.
    ``PREVIOUS_IMAGE``: decide the previous image once, then after-stages deploy the rolled-back group's cluster
    red/black with it (Orca's ``PreviousImageRollback``): ``clone`` (a ``cloneServerGroup`` of the rolled-back
    group), then ``disableCluster`` (all but the clone); Orca nests the latter in the clone's strategy."""

    type = "rollbackServerGroup"
    mutates_account = True

    @staticmethod
    def _previous_image(context: JSON) -> bool:
        return str(context.get("rollbackType") or "").upper() == "PREVIOUS_IMAGE"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        step = "server_group_rollback"
        determine = TaskSpec("determineRollback", ORCA + "DetermineRollbackCandidatesTask", activity=step)
        if self._previous_image(context):
            return [determine]
        return [
            determine,
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

    def after_stages(self, context: JSON) -> list[SyntheticStage]:
        plan = context.get("rollbackPlan")
        if not (self._previous_image(context) and isinstance(plan, dict) and isinstance(plan.get("clone"), dict)):
            return []
        out = [SyntheticStage("cloneServerGroup", "clone", dict(plan["clone"]), "STAGE_AFTER")]
        # the clone's red/black, flat: synthetic stages run no stages of their own
        delay = plan.get("delayBeforeDisableSec")
        if delay:
            out.append(SyntheticStage("wait", "waitBeforeDisable", {"waitTime": delay}, "STAGE_AFTER"))
        if isinstance(plan.get("disableCluster"), dict):
            where = f"{plan['disableCluster'].get('cluster')} in {plan.get('region')}"
            out.append(
                SyntheticStage("disableCluster", f"disableCluster {where}", plan["disableCluster"], "STAGE_AFTER")
            )
        return out


class RollbackClusterStage(StageDefinition):
    """``rollbackCluster`` (Orca's ``RollbackClusterStage``): ``determineRollbackCandidates`` picks, per region of
    ``regions``, the cluster's newest enabled group and what to restore (``originalServerGroup``, else the newest
    other group; ``additionalRollbackContext.onlyEnabledServerGroups``), then one ``rollbackServerGroup`` per
    region follows (``Rollback <region>``), with ``Wait after <region>`` (``waitTimeBetweenRegions``) between.
    Regions with fewer than two groups, or none enabled, are skipped."""

    type = "rollbackCluster"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "determineRollbackCandidates",
                "com.netflix.spinnaker.orca.clouddriver.tasks.cluster.DetermineRollbackCandidatesTask",
                activity="cluster_rollback_candidates",
            )
        ]

    def after_stages(self, context: JSON) -> list[SyntheticStage]:
        raw_types, raw_contexts = context.get("rollbackTypes"), context.get("rollbackContexts")
        types: JSON = raw_types if isinstance(raw_types, dict) else {}
        contexts: JSON = raw_contexts if isinstance(raw_contexts, dict) else {}
        regions = [r for r in (context.get("regions") or []) if r in types]
        extra = context.get("additionalRollbackContext")
        wait = context.get("waitTimeBetweenRegions")
        out: list[SyntheticStage] = []
        for n, region in enumerate(regions):
            rollback_context = {**(contexts.get(region) or {}), **(extra if isinstance(extra, dict) else {})}
            ctx: JSON = {
                "rollbackType": types[region],
                "rollbackContext": rollback_context,
                "region": region,
                "regions": [region],
                "credentials": context.get("credentials"),
                "cloudProvider": context.get("cloudProvider"),
            }
            for key in ("interestingHealthProviderNames", "sourceServerGroupCapacitySnapshot", "moniker"):
                if context.get(key) is not None:
                    ctx[key] = context[key]
            out.append(SyntheticStage("rollbackServerGroup", f"Rollback {region}", ctx, "STAGE_AFTER"))
            if wait and n < len(regions) - 1:  # no wait after the last region
                out.append(SyntheticStage("wait", f"Wait after {region}", {"waitTime": wait}, "STAGE_AFTER"))
        return out
