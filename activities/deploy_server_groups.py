"""One server group at a time: resolve ``target`` (or ``serverGroupName``) once, then disable, enable,
destroy or resize that group by name, and wait for a resize to match."""

from __future__ import annotations

import logging
from collections.abc import Callable

from temporalio import activity

from core.tasks import TaskInput, TaskResult
from providers import targets
from providers.base import Capacity, NotFoundCloudError, PercentageDisableCloud, ServerGroup, ServerGroupCloud
from providers.naming import Moniker

from .deploy_base import JSON, UP_BACKOFF_MS, ProviderSessions, StageInputError, guarded, platform_health_only

log = logging.getLogger(__name__)

#: stages whose target gets a new capacity decided with it
RESIZE_STAGES = ("resizeServerGroup", "pinServerGroup")


def desired_percentage(context: JSON) -> int | None:
    """The stage's ``desiredPercentage`` (0..100), None when unset; anything else fails naming the field."""
    raw = context.get("desiredPercentage")
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if isinstance(raw, bool) or not value.is_integer() or not 0 <= value <= 100:
        raise StageInputError(f"desiredPercentage: must be a whole number from 0 to 100, not {raw!r}")
    return int(value)


class ServerGroupActivities:
    """``disable``/``enable``/``destroy``/``resizeServerGroup`` and ``pinServerGroup``, by name."""

    def __init__(self, sessions: ProviderSessions) -> None:
        self.sessions = sessions

    @activity.defn(name="server_group_determine_target")
    def determine_target(self, inp: TaskInput) -> TaskResult:
        """Resolve ``target`` (or ``serverGroupName``) per region once, into ``targets`` (and the new
        capacity, for a resize), so the acting task never re-resolves after it has acted."""
        return guarded(self._determine)(inp)

    def _determine(self, inp: TaskInput) -> TaskResult:
        if isinstance(inp.context.get("targets"), list):
            return TaskResult.succeeded()
        ctx = inp.context
        cloud = self.sessions.cloud(ctx.get("cloudProvider"))
        account = ctx.get("credentials") or ctx.get("account")
        if not isinstance(account, str) or not account:
            raise StageInputError("credentials: which account")
        regions = ctx.get("regions") or ([ctx["region"]] if ctx.get("region") else [])
        if not regions:
            raise StageInputError("regions: which regions")
        chosen: list[JSON] = []
        for region in regions:
            name = ctx.get("serverGroupName") or ctx.get("asgName")
            cluster_name = ctx.get("cluster") or (Moniker.parse(str(name)).cluster if name else None)
            if not cluster_name:
                raise StageInputError("cluster: which cluster (or serverGroupName)")
            groups = cloud.server_groups(account, str(region), str(cluster_name))
            if name:
                group = next((g for g in groups if g.name == name), None)
                if group is None:
                    raise NotFoundCloudError(f"serverGroupName: {name} not found in {account}/{region}")
            else:
                group = targets.resolve_target(groups, str(ctx.get("target") or "current_asg_dynamic"))
            entry: JSON = {
                "account": account,
                "region": str(region),
                "serverGroupName": group.name,
                "cloudProvider": cloud.cloud_provider,
            }
            if inp.stage_type in RESIZE_STAGES:
                source = self._source_capacity(cloud, account, str(region), ctx, groups)
                entry["capacity"] = targets.resize_capacity(group.capacity, ctx, groups, source).to_json()
            chosen.append(entry)
        names = [t["serverGroupName"] for t in chosen]
        return TaskResult.succeeded({"targets": chosen, "serverGroupName": names[0], "asgName": names[0]})

    @staticmethod
    def _source_capacity(
        cloud: ServerGroupCloud, account: str, region: str, ctx: JSON, groups: list[ServerGroup]
    ) -> Capacity | None:
        """``scale_to_server_group``: the capacity the ``source`` group ({serverGroupName}) has now."""
        source = ctx.get("source")
        if str(ctx.get("action") or "").lower() != "scale_to_server_group":
            return None
        if not isinstance(source, dict) or not (source.get("serverGroupName") or source.get("asgName")):
            raise StageInputError("source: scale_to_server_group needs source.serverGroupName")
        name = str(source.get("serverGroupName") or source.get("asgName"))
        group = next((g for g in groups if g.name == name), None) or cloud.server_group(
            str(source.get("credentials") or account), str(source.get("region") or region), name
        )
        if group is None:
            raise NotFoundCloudError(f"source: {name} not found in {account}/{region}")
        return group.capacity

    def _each_target(self, inp: TaskInput, act: Callable[[ServerGroupCloud, JSON], None]) -> TaskResult:
        done = []
        for target in inp.context.get("targets") or []:
            session = self.sessions.session(target["cloudProvider"])
            act(session.cloud, target)
            session.refresh(target["account"], target["region"], target["serverGroupName"])
            done.append(target["serverGroupName"])
        return TaskResult.succeeded({"serverGroupNames": done})

    @activity.defn(name="server_group_disable")
    def disable(self, inp: TaskInput) -> TaskResult:
        """Disable each target; with ``desiredPercentage`` below 100 (rolling red/black's steps) only that share of
        its instances is taken out of its load balancers (Clouddriver's ``desiredPercentage``), where the cloud
        can; a cloud that cannot leaves the group serving until the 100% step disables it whole."""
        return guarded(self._disable)(inp)

    def _disable(self, inp: TaskInput) -> TaskResult:
        pct = desired_percentage(inp.context)
        if pct is None or pct == 100:
            return self._each_target(inp, lambda c, t: c.disable(t["account"], t["region"], t["serverGroupName"]))
        deregistered: list[str] = []

        def partial(cloud: ServerGroupCloud, t: JSON) -> None:
            if isinstance(cloud, PercentageDisableCloud):
                deregistered.extend(cloud.disable_percentage(t["account"], t["region"], t["serverGroupName"], pct))
            else:
                log.info(
                    "%s cannot disable %d%% of %s: it keeps serving", cloud.cloud_provider, pct, t["serverGroupName"]
                )

        result = self._each_target(inp, partial)
        result.context["instanceIdsToDisable"] = deregistered  # Clouddriver's result object of the same name
        return result

    @activity.defn(name="server_group_enable")
    def enable(self, inp: TaskInput) -> TaskResult:
        return guarded(
            lambda i: self._each_target(i, lambda c, t: c.enable(t["account"], t["region"], t["serverGroupName"]))
        )(inp)

    @activity.defn(name="server_group_destroy")
    def destroy(self, inp: TaskInput) -> TaskResult:
        return guarded(
            lambda i: self._each_target(i, lambda c, t: c.destroy(t["account"], t["region"], t["serverGroupName"]))
        )(inp)

    @activity.defn(name="server_group_resize")
    def resize(self, inp: TaskInput) -> TaskResult:
        return guarded(
            lambda i: self._each_target(
                i, lambda c, t: c.resize(t["account"], t["region"], t["serverGroupName"], Capacity(**t["capacity"]))
            )
        )(inp)

    @activity.defn(name="server_group_wait_for_capacity")
    def wait_for_capacity(self, inp: TaskInput) -> TaskResult:
        """RUNNING until each resized group has its desired number of instances (all Up when it grew)."""
        return guarded(self._wait_capacity)(inp)

    def _wait_capacity(self, inp: TaskInput) -> TaskResult:
        waiting = []
        for t in inp.context.get("targets") or []:
            group = self.sessions.cloud(t["cloudProvider"]).server_group(
                t["account"], t["region"], t["serverGroupName"]
            )
            desired = int(t["capacity"]["desired"])
            have = group.healthy_count(platform_only=platform_health_only(inp.context, group)) if group else 0
            if group is None or len(group.instances) != desired or have < desired:
                waiting.append(f"{t['serverGroupName']} ({have}/{desired})")
        if waiting:
            return TaskResult.running(UP_BACKOFF_MS, waitingFor=waiting)
        return TaskResult.succeeded({"waitingFor": []})
