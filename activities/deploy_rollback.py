"""``rollbackServerGroup`` (``EXPLICIT``), one step per task: decide the two groups and the restore's size once,
enable the restore group, resize it, wait for its instances, disable the rolled-back group."""

from __future__ import annotations

from temporalio import activity

from core.tasks import TaskInput, TaskResult
from providers import targets
from providers.base import Capacity, NotFoundCloudError, PreviousImageCloud, ServerGroupCloud
from providers.naming import Moniker

from . import deploy_waits as waits
from .deploy_base import JSON, UP_BACKOFF_MS, ProviderSessions, StageInputError, guarded, platform_health_only

#: Orca's ``RollbackServerGroupStage.RollbackType`` (its ``TEST`` type is for Orca's own tests)
ROLLBACK_TYPES = ("EXPLICIT", "PREVIOUS_IMAGE")


def rollback_type(ctx: JSON) -> str:
    kind = str(ctx.get("rollbackType") or "EXPLICIT").upper()
    if kind not in ROLLBACK_TYPES:
        raise StageInputError(f"rollbackType: {kind} is not one of {', '.join(ROLLBACK_TYPES)}")
    return kind


def _where(ctx: JSON) -> tuple[str, str]:
    account = str(ctx.get("credentials") or ctx.get("account") or "")
    regions = ctx.get("regions") or ([ctx["region"]] if ctx.get("region") else [])
    if not account or not isinstance(regions, list) or len(regions) != 1:
        raise StageInputError("credentials and regions: one account and one region to roll back in")
    return account, str(regions[0])


class RollbackActivities:
    """Orca's explicit rollback."""

    def __init__(self, sessions: ProviderSessions) -> None:
        self.sessions = sessions

    @activity.defn(name="server_group_rollback")
    def rollback(self, inp: TaskInput) -> TaskResult:
        """Orca's explicit rollback, one step per task (``inp.task_name``): decide (the two groups and the
        restore's new size, once), enable the restore group, resize it, wait for it, disable the rollback group."""
        return guarded(self._rollback)(inp)

    @activity.defn(name="cluster_rollback_candidates")
    def rollback_candidates(self, inp: TaskInput) -> TaskResult:
        """``rollbackCluster``'s ``determineRollbackCandidates`` (Orca's ``DetermineRollbackCandidatesTask``):
        per region, which group to roll back and to which (outputs ``rollbackTypes`` and ``rollbackContexts``
        by region; ``imagesToRestore`` in the context). Entity tags are not kept here, so every rollback
        it plans is ``EXPLICIT`` to a previous group, as Orca's is for a group without them."""
        return guarded(self._candidates)(inp)

    def _candidates(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        if isinstance(ctx.get("rollbackTypes"), dict):
            return TaskResult.succeeded()  # decided already
        cloud = self.sessions.cloud(ctx.get("cloudProvider"))
        account = str(ctx.get("credentials") or ctx.get("account") or "")
        if not account:
            raise StageInputError("credentials: which account")
        regions = ctx.get("regions")
        if not isinstance(regions, list) or not regions or not all(isinstance(r, str) and r for r in regions):
            raise StageInputError("regions: the regions to roll the cluster back in")
        cluster = self._cluster_of(ctx, cloud, account, regions[0])
        extra = ctx.get("additionalRollbackContext")
        only_enabled = isinstance(extra, dict) and extra.get("onlyEnabledServerGroups") in (True, "true")
        original = ctx.get("originalServerGroup") if isinstance(ctx.get("originalServerGroup"), str) else None
        override = waits.percentage(ctx.get("targetHealthyRollbackPercentage"), "targetHealthyRollbackPercentage")
        types: JSON = {}
        contexts: JSON = {}
        images: list[JSON] = []
        for region in regions:
            groups = cloud.server_groups(account, region, cluster)
            try:
                chosen = targets.rollback_candidates(groups, only_enabled=only_enabled, original=original)
            except targets.TargetError as err:
                raise NotFoundCloudError(f"{region}: {err}") from err
            if chosen is None:  # fewer than two groups, or none enabled: Orca skips the region
                continue
            current, restore = chosen
            previous = next((g for g in groups if g.name == restore), None)
            types[region] = "EXPLICIT"
            contexts[region] = {
                "rollbackServerGroupName": current.name,
                "restoreServerGroupName": restore,
                "targetHealthyRollbackPercentage": targets.rollback_healthy_percentage(
                    current.capacity.desired, override
                ),
            }
            image = {"region": region, "image": previous.image_name if previous else None, "rollbackMethod": "EXPLICIT"}
            images.append(image)
        return TaskResult.succeeded(
            {"imagesToRestore": images, "rollbackTypes": types, "rollbackContexts": contexts},
            {"rollbackTypes": types, "rollbackContexts": contexts},
        )

    @staticmethod
    def _cluster_of(ctx: JSON, cloud: ServerGroupCloud, account: str, region: str) -> str:
        """The cluster: ``moniker.cluster`` (or built from its app/stack/detail), ``cluster``, else the one of
        ``serverGroup`` (which must exist in the first region, as Orca reads its moniker)."""
        moniker = ctx.get("moniker")
        if isinstance(moniker, dict) and (moniker.get("cluster") or moniker.get("app")):
            if moniker.get("cluster"):
                return str(moniker["cluster"])
            return Moniker.of(str(moniker["app"]), moniker.get("stack"), moniker.get("detail")).cluster
        if ctx.get("cluster"):
            return str(ctx["cluster"])
        name = ctx.get("serverGroup") or ctx.get("serverGroupName")
        if not name:
            raise StageInputError("moniker: which cluster (moniker, cluster or serverGroup)")
        group = cloud.server_group(account, region, str(name))
        if group is None:
            raise NotFoundCloudError(f"serverGroup: {name} not found in {account}/{region}")
        return group.cluster

    def _rollback(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        if inp.task_name == "determineRollback":
            return self._rollback_plan(ctx)
        plan = ctx.get("rollbackPlan")
        if not isinstance(plan, dict):
            raise StageInputError("rollbackPlan: the rollback was not planned")
        session = self.sessions.session(plan["cloudProvider"])
        cloud = session.cloud
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
            session.refresh(account, region, name)
        return TaskResult.succeeded()

    def _rollback_plan(self, ctx: JSON) -> TaskResult:
        if isinstance(ctx.get("rollbackPlan"), dict):
            return TaskResult.succeeded()
        kind = rollback_type(ctx)
        raw = ctx.get("rollbackContext")
        rc: JSON = raw if isinstance(raw, dict) else {}
        if kind == "PREVIOUS_IMAGE":
            return self._previous_image_plan(ctx, rc)
        rollback, restore = rc.get("rollbackServerGroupName"), rc.get("restoreServerGroupName")
        if not rollback:
            raise StageInputError("rollbackContext: needs rollbackServerGroupName")
        cloud = self.sessions.cloud(ctx.get("cloudProvider"))
        account, region = _where(ctx)
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

    def _previous_image_plan(self, ctx: JSON, rc: JSON) -> TaskResult:
        """Orca's ``PreviousImageRollback``: a new group of the rolled-back group's cluster, cloned from it with the
        previous image (``rollbackContext.imageName``/``imageId``; Orca's entity tags are not kept here, an AWS
        group's launch template history is read instead), then the rest of the cluster disabled (red/black)."""
        rollback = rc.get("rollbackServerGroupName")
        if not rollback:
            raise StageInputError("rollbackContext: needs rollbackServerGroupName")
        cloud = self.sessions.cloud(ctx.get("cloudProvider"))
        account, region = _where(ctx)
        group = cloud.server_group(account, region, str(rollback))
        if group is None:
            raise NotFoundCloudError(f"rollbackContext: {rollback} not found in {account}/{region}")
        image_name, image_id = rc.get("imageName"), rc.get("imageId")
        if not (image_name or image_id) and isinstance(cloud, PreviousImageCloud):
            image_id = cloud.previous_image(account, region, str(rollback))
        if not (image_name or image_id):
            raise StageInputError(
                f"rollbackContext.imageName: unable to determine the image to roll {rollback} back to"
            )
        moniker = Moniker.parse(str(rollback))
        raw_moniker = ctx.get("moniker")
        given: JSON = raw_moniker if isinstance(raw_moniker, dict) else {}
        clone: JSON = {
            "targetHealthyDeployPercentage": rc.get("targetHealthyRollbackPercentage"),
            "imageId": image_id or image_name,
            "imageName": image_name,
            "amiName": image_name,
            # Orca's clone is red/black; the engine runs no stages nested in a synthetic stage, so the red/black
            # steps are the rollback's own after-stages (RollbackServerGroupStage.after_stages)
            "strategy": "none",
            "application": given.get("app") or moniker.app,
            "stack": given.get("stack") or moniker.stack,
            "freeFormDetails": given.get("detail") or moniker.detail,
            "region": region,
            "availabilityZones": {region: list(group.zones)},
            "credentials": account,
            "account": account,
            "cloudProvider": cloud.cloud_provider,
            "source": {
                "asgName": rollback,
                "serverGroupName": rollback,
                "account": account,
                "region": region,
                "cloudProvider": cloud.cloud_provider,
                "useSourceCapacity": True,
            },
            "useSourceCapacity": True,
        }
        for key in ("targetGroups", "securityGroups", "subnetType", "interestingHealthProviderNames"):
            if ctx.get(key):
                clone[key] = ctx[key]
        snapshot = ctx.get("sourceServerGroupCapacitySnapshot")
        if isinstance(snapshot, dict):  # a failed deploy's rollback: the capacity before any pinning
            clone["source"]["useSourceCapacity"] = clone["useSourceCapacity"] = False
            clone["capacity"] = snapshot
        clone = {k: v for k, v in clone.items() if v is not None}
        disable = {
            "cloudProvider": cloud.cloud_provider,
            "credentials": account,
            "regions": [region],
            "cluster": moniker.cluster,
            "remainingEnabledServerGroups": 1,  # the clone, the cluster's newest group
            "preferLargerOverNewer": False,
        }
        plan = {
            "rollbackType": "PREVIOUS_IMAGE",
            "disableCluster": disable,
            "delayBeforeDisableSec": rc.get("delayBeforeDisableSeconds") or 0,
            "cloudProvider": cloud.cloud_provider,
            "account": account,
            "region": region,
            "rollbackServerGroupName": rollback,
            "imageId": image_id,
            "imageName": image_name,
            "clone": clone,
        }
        return TaskResult.succeeded({"rollbackPlan": plan})
