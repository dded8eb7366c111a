"""Cluster-wide operations (Orca's ``AbstractClusterWideClouddriverTask``): the groups to act on are chosen once
per region and kept in ``clusterTargets``; and the ``clusterSize`` precondition's count."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.tasks import TaskInput, TaskResult
from providers import targets
from providers.base import Capacity, CloudError, ServerGroup, ServerGroupCloud, TransientCloudError

from .deploy_base import JSON, ProviderSessions, StageInputError, guarded


class ClusterActivities:
    """``disableCluster``, ``shrinkCluster``, ``scaleDownCluster``, ``cluster_size``."""

    def __init__(self, sessions: ProviderSessions) -> None:
        self.sessions = sessions

    @activity.defn(name="cluster_operate")
    def cluster_operate(self, inp: TaskInput) -> TaskResult:
        """``disableCluster`` / ``shrinkCluster`` / ``scaleDownCluster``: choose (once) and act."""
        return guarded(self._cluster)(inp)

    def _cluster(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        session = self.sessions.session(ctx.get("cloudProvider"))
        cloud = session.cloud
        account = str(ctx.get("credentials") or ctx.get("account") or "")
        if not account or not ctx.get("cluster"):
            raise StageInputError("credentials and cluster: which cluster to act on")
        decided: dict[str, list[str]] = dict(ctx.get("clusterTargets") or {})
        acted: dict[str, list[str]] = {}
        exclude = [str(n) for n in ctx.get("excludeServerGroups") or []]
        for region in ctx.get("regions") or []:
            if region not in decided:
                groups = cloud.server_groups(account, str(region), str(ctx["cluster"]))
                decided[region] = [g.name for g in self._select(inp.stage_type, groups, ctx, exclude)]
            for name in decided[region]:
                self._apply(cloud, inp.stage_type, account, str(region), name)
                session.refresh(account, str(region), name)
            acted[region] = decided[region]
        return TaskResult.succeeded({"clusterTargets": acted})

    @staticmethod
    def _select(stage_type: str, groups: list[ServerGroup], ctx: JSON, exclude: list[str]) -> list[ServerGroup]:
        if stage_type == "disableCluster":
            return targets.disable_cluster(
                groups,
                remaining_enabled=int(ctx.get("remainingEnabledServerGroups", 1)),
                prefer_larger=bool(ctx.get("preferLargerOverNewer")),
                exclude=exclude,
            )
        if stage_type == "shrinkCluster":
            return targets.shrink_cluster(
                groups,
                shrink_to=int(ctx.get("shrinkToSize", 1)),
                allow_delete_active=bool(ctx.get("allowDeleteActive")),
                retain_larger=bool(ctx.get("retainLargerOverNewer")),
                exclude=exclude,
            )
        if stage_type == "scaleDownCluster":
            return targets.scale_down_cluster(
                groups,
                remaining_full_size=int(ctx.get("remainingFullSizeServerGroups", 1)),
                allow_scale_down_active=bool(ctx.get("allowScaleDownActive")),
                prefer_larger=bool(ctx.get("preferLargerOverNewer")),
                exclude=exclude,
            )
        raise StageInputError(f"type: {stage_type} is not a cluster operation")

    @staticmethod
    def _apply(cloud: ServerGroupCloud, stage_type: str, account: str, region: str, name: str) -> None:
        if stage_type == "disableCluster":
            cloud.disable(account, region, name)
        elif stage_type == "shrinkCluster":
            cloud.destroy(account, region, name)
        else:
            group = cloud.server_group(account, region, name)
            if group is not None:
                cloud.resize(account, region, name, Capacity(0, group.capacity.max, 0))

    @activity.defn(name="cluster_size")
    def cluster_size(self, req: JSON) -> JSON:
        """``{region: number of server groups}`` of a cluster (enabled ones with ``onlyEnabledServerGroups``)."""
        try:
            cloud = self.sessions.cloud(req.get("cloudProvider"))
            account = str(req.get("credentials") or req.get("account") or "")
            if not account or not req.get("cluster"):
                raise StageInputError("credentials and cluster: which cluster to count")
            only_enabled = req.get("onlyEnabledServerGroups") in (True, "true")
            return {
                str(region): sum(
                    1
                    for g in cloud.server_groups(account, str(region), str(req["cluster"]))
                    if not (only_enabled and g.disabled)
                )
                for region in req.get("regions") or []
            }
        except TransientCloudError as err:
            raise ApplicationError(str(err), type="TransientCloudError") from err
        except (StageInputError, CloudError, ValueError) as err:
            raise ApplicationError(str(err), non_retryable=True) from err
