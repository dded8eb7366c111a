"""``rollbackServerGroup`` (``EXPLICIT``), one step per task: decide the two groups and the restore's size once,
enable the restore group, resize it, wait for its instances, disable the rolled-back group."""

from __future__ import annotations

from temporalio import activity

from providers import targets
from providers.base import Capacity, NotFoundCloudError
from providers.naming import Moniker
from workflows.stages.base import TaskInput, TaskResult

from . import deploy_waits as waits
from .deploy_base import JSON, UP_BACKOFF_MS, DeployBase, StageInputError, platform_health_only


class RollbackOps(DeployBase):
    """Orca's explicit rollback."""

    @activity.defn(name="server_group_rollback")
    def rollback(self, inp: TaskInput) -> TaskResult:
        """Orca's explicit rollback, one step per task (``inp.task_name``): decide (the two groups and the
        restore's new size, once), enable the restore group, resize it, wait for it, disable the rollback group."""
        return self._guarded(self._rollback)(inp)

    def _rollback(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        if inp.task_name == "determineRollback":
            return self._rollback_plan(ctx)
        plan = ctx.get("rollbackPlan")
        if not isinstance(plan, dict):
            raise StageInputError("rollbackPlan: the rollback was not planned")
        cloud = self.cloud(plan["cloudProvider"])
        account, region = plan["account"], plan["region"]
        restore, rollback = plan["restoreServerGroupName"], plan["rollbackServerGroupName"]
        if inp.task_name == "enableRestoreServerGroup":
            cloud.enable(account, region, restore)
        elif inp.task_name == "resizeRestoreServerGroup":
            cloud.resize(account, region, restore, Capacity(**plan["capacity"]))
        elif inp.task_name == "waitForRestoredInstances":
            group = cloud.server_group(account, region, restore)
            needed = waits.healthy_target(
                int(plan["capacity"]["desired"]),
                waits.percentage(plan["targetHealthyRollbackPercentage"], "targetHealthyRollbackPercentage"),
            )
            healthy = group.healthy_count(platform_only=platform_health_only({}, group)) if group else 0
            if healthy < needed:
                return TaskResult.running(UP_BACKOFF_MS, waitingFor=[f"{restore} ({healthy}/{needed} up)"])
        elif inp.task_name == "disableRollbackServerGroup":
            cloud.disable(account, region, rollback)
        else:
            raise StageInputError(f"task: {inp.task_name} is not a rollback step")
        for name in (restore, rollback):
            self._cache(cloud, account, region, name)
        return TaskResult.succeeded()

    def _rollback_plan(self, ctx: JSON) -> TaskResult:
        if isinstance(ctx.get("rollbackPlan"), dict):
            return TaskResult.succeeded()
        kind = str(ctx.get("rollbackType") or "EXPLICIT").upper()
        if kind != "EXPLICIT":
            raise StageInputError(f"rollbackType: {kind} is not supported yet (EXPLICIT is)")
        raw = ctx.get("rollbackContext")
        rc: JSON = raw if isinstance(raw, dict) else {}
        rollback, restore = rc.get("rollbackServerGroupName"), rc.get("restoreServerGroupName")
        if not rollback:
            raise StageInputError("rollbackContext: needs rollbackServerGroupName")
        cloud = self.cloud(ctx.get("cloudProvider"))
        account = str(ctx.get("credentials") or ctx.get("account") or "")
        regions = ctx.get("regions") or ([ctx["region"]] if ctx.get("region") else [])
        if not account or len(regions) != 1:
            raise StageInputError("credentials and regions: one account and one region to roll back in")
        region = str(regions[0])
        if not restore:  # the group before it in its cluster (a deploy's rollback on failure)
            others = [
                g
                for g in cloud.server_groups(account, region, Moniker.parse(str(rollback)).cluster)
                if g.name != rollback
            ]
            if not others:
                raise NotFoundCloudError(f"rollbackContext: no server group to restore before {rollback}")
            restore = targets.newest_first(others)[0].name
        found = {n: cloud.server_group(account, region, str(n)) for n in (rollback, restore)}
        missing = [n for n, g in found.items() if g is None]
        if missing:
            raise NotFoundCloudError(f"rollbackContext: {', '.join(map(str, missing))} not found in {account}/{region}")
        current, previous = found[rollback], found[restore]
        assert current is not None and previous is not None
        capacity = Capacity(
            min=max(previous.capacity.min, current.capacity.min),
            max=max(previous.capacity.max, current.capacity.max),
            desired=max(previous.capacity.desired, current.capacity.desired),
        )
        plan = {
            "cloudProvider": cloud.cloud_provider,
            "account": account,
            "region": region,
            "rollbackServerGroupName": rollback,
            "restoreServerGroupName": restore,
            "capacity": capacity.to_json(),
            "targetHealthyRollbackPercentage": float(rc.get("targetHealthyRollbackPercentage") or 100),
        }
        return TaskResult.succeeded({"rollbackPlan": plan})
