"""Clouddriver's server-group operations as activities: each wraps single cloud calls through
``providers`` and answers a :class:`TaskResult`.

Exactly once: every decision that depends on the cloud's state (the new group's name, which group
``current_asg_dynamic`` is, the size a percentage resize leads to) is taken by its own task and kept
in the stage context; the task that acts reads the decision and makes an idempotent call (create by
name, resize to an absolute size, disable/destroy by name). A worker that dies mid-task makes the
task run again with the same decision, never a second group or the wrong one.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from providers import targets
from providers.base import (
    Capacity,
    CloudError,
    CreateServerGroupRequest,
    InvalidRequestError,
    NotFoundCloudError,
    ServerGroup,
    ServerGroupCloud,
    TransientCloudError,
)
from providers.naming import Moniker, NameError_, next_name
from workflows.stages.base import TaskInput, TaskResult
from workflows.stages.rolling import target_percentages

from . import deploy_waits as waits
from .deploy_cancel import cancel_rollback

log = logging.getLogger(__name__)
JSON = dict[str, Any]
UP_BACKOFF_MS = 10_000
#: stages whose target gets a new capacity decided with it
RESIZE_STAGES = ("resizeServerGroup", "pinServerGroup")


class StageInputError(ValueError):
    """The stage's context cannot be acted on; the message names the field."""


def clusters_of(context: JSON) -> list[JSON]:
    """``deploy``'s ``clusters``, or the one cluster a ``createServerGroup`` stage describes inline."""
    clusters = context.get("clusters")
    if isinstance(clusters, list):
        if not all(isinstance(c, dict) for c in clusters):
            raise StageInputError("clusters: every entry must be an object")
        return clusters
    return [context]


def regions_of(cluster: JSON) -> dict[str, list[str]]:
    """Region → zones: ``availabilityZones`` ({region: [zones]}), else ``regions``/``region`` with GCE's
    ``zone`` or ``distributionPolicy.zones``."""
    zones = cluster.get("availabilityZones")
    if isinstance(zones, dict) and zones:
        return {str(r): [str(z) for z in (v or [])] for r, v in zones.items()}
    policy = cluster.get("distributionPolicy")
    gce_zones = [str(z) for z in (policy.get("zones") or [])] if isinstance(policy, dict) else []
    if cluster.get("zone"):
        gce_zones = gce_zones or [str(cluster["zone"])]
    regions = cluster.get("regions") or ([cluster["region"]] if cluster.get("region") else [])
    if not isinstance(regions, list) or not regions:
        raise StageInputError("availabilityZones: a cluster needs availabilityZones, regions or region")
    return {str(r): list(gce_zones) for r in regions}


#: instance types when the cluster names none, per cloud
DEFAULT_INSTANCE_TYPES = {"aws": "t3.micro", "gce": "e2-small"}
#: cluster fields the request carries by name; the rest reach the provider in ``extra``
REQUEST_FIELDS = {
    "instanceType",
    "loadBalancers",
    "targetGroups",
    "securityGroups",
    "subnetType",
    "keyPair",
    "base64UserData",
    "userData",
    "capacity",
    "availabilityZones",
    "regions",
    "region",
    "account",
    "credentials",
    "imageId",
    "amiName",
    "image",
    "application",
    "stack",
    "freeFormDetails",
    "strategy",
    "cloudProvider",
    "provider",
    "source",
    "useSourceCapacity",
}


def _capacity(raw: Any, field: str) -> Capacity:
    if raw is None:
        return Capacity()
    if not isinstance(raw, dict):
        raise StageInputError(f"{field}: must be an object with min, max and desired")
    try:
        capacity = Capacity(int(raw.get("min", 1)), int(raw.get("max", 1)), int(raw.get("desired", 1)))
    except (TypeError, ValueError):
        raise StageInputError(f"{field}: min, max and desired must be numbers") from None
    if not 0 <= capacity.min <= capacity.desired <= capacity.max:
        raise StageInputError(f"{field}: needs 0 <= min <= desired <= max, got {capacity.to_json()}")
    return capacity


def _image_for(cluster: JSON, region: str, cloud: str, ancestors: list[JSON]) -> str:
    """The image to deploy: the cluster's own (``imageId``, ``amiName``, ``image``), else the nearest
    upstream bake or find-image stage's ``deploymentDetails`` for this region, as Orca finds it."""
    for key in ("imageId", "amiName", "image"):
        if isinstance(cluster.get(key), str) and cluster[key]:
            return str(cluster[key])
    for outputs in ancestors:
        for detail in outputs.get("deploymentDetails") or []:
            if not isinstance(detail, dict):
                continue
            provider = detail.get("cloudProvider") or detail.get("cloudProviderType") or cloud
            if detail.get("region") in (region, None) and provider == cloud:
                image = detail.get("imageId") or detail.get("ami") or detail.get("imageName")
                if image:
                    return str(image)
    raise StageInputError(f"imageId: no image for {region}: give imageId/amiName, or bake or find one upstream")


def _source_of(cluster: JSON, region: str, existing: list[ServerGroup]) -> JSON | None:
    """The group this deploy replaces (Orca's deploy ``source``): the cluster's ``source`` when it names one
    in this region, else its newest enabled group (the newest one when all are disabled); None if none."""
    given = cluster.get("source")
    if isinstance(given, dict) and given.get("region") in (region, None):
        name = given.get("asgName") or given.get("serverGroupName")
        chosen = next((g for g in existing if g.name == name), None)
    else:
        enabled = [g for g in existing if not g.disabled]
        ordered = targets.newest_first(enabled or existing)
        chosen = ordered[0] if ordered else None
    if chosen is None:
        return None
    return {
        "serverGroupName": chosen.name,
        "region": region,
        "capacity": chosen.capacity.to_json(),
        "disabled": chosen.disabled,
    }


PLATFORM_HEALTH = {"amazon", "google", "aws", "gce"}


def _platform_health_only(cluster: JSON, context: JSON) -> bool:
    """Count instances Up on the cloud's own health: when ``interestingHealthProviderNames`` names only the
    platform (Deck's "consider only cloud provider health"), or when nothing else could report on them
    (no load balancers, no target groups) -- Orca would wait forever there unless the application set it."""
    names = cluster.get("interestingHealthProviderNames", context.get("interestingHealthProviderNames"))
    if isinstance(names, list) and names:
        return all(str(n).lower() in PLATFORM_HEALTH for n in names)
    return not (cluster.get("loadBalancers") or cluster.get("targetGroups"))


def _group_platform_only(group: ServerGroup, context: JSON) -> bool:
    """:func:`_platform_health_only` for an existing group (its own load balancers and target groups)."""
    where = {"loadBalancers": group.load_balancers, "targetGroups": group.target_groups}
    return _platform_health_only(where, context)


@contextlib.contextmanager
def heartbeating() -> Iterator[None]:
    """Heartbeat from a side thread while the activity runs, when its task set a heartbeat timeout: a cloud
    call may block for a while, but a worker that dies is noticed within the timeout, not start-to-close."""
    if not activity.in_activity() or not activity.info().heartbeat_timeout:
        yield
        return
    timeout = activity.info().heartbeat_timeout
    assert timeout is not None
    interval = max(0.5, timeout.total_seconds() / 4)
    stop = threading.Event()
    context = contextvars.copy_context()

    def beat() -> None:
        while not stop.wait(interval):
            activity.heartbeat()

    thread = threading.Thread(target=context.run, args=(beat,), name="deploy-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 1)


def _failure(err: Exception) -> TaskResult:
    """A cloud or input error as the task's answer: transient ones are retried by Temporal instead."""
    if isinstance(err, TransientCloudError):
        raise ApplicationError(str(err), type="TransientCloudError") from err
    return TaskResult.terminal(str(err))


class DeployActivities:
    """The server-group activities, around the clouds configured in settings (``aws``, ``gce``)."""

    def __init__(self, clouds: dict[str, ServerGroupCloud], store: Any = None) -> None:
        self.clouds = clouds
        self.store = store

    def _cache(self, cloud: ServerGroupCloud, account: str, region: str, name: str) -> None:
        """Write the group's new state through the API's cache (Orca's forceCacheRefresh), best effort."""
        if self.store is None:
            return
        try:
            group = cloud.server_group(account, region, name)
            if group is None:
                self.store.drop_cloud_cache_item(cloud.cloud_provider, account, "serverGroups", region, name)
            else:
                self.store.put_cloud_cache_item(cloud.cloud_provider, account, "serverGroups", group.to_json())
        except Exception as err:  # noqa: BLE001 - the next scheduled refresh catches up
            log.info("cache write-through of %s failed: %s", name, err)

    def cloud(self, name: Any) -> ServerGroupCloud:
        cloud = self.clouds.get(str(name or "aws"))
        if cloud is None:
            known = ", ".join(sorted(self.clouds)) or "none configured"
            raise StageInputError(f"cloudProvider: '{name}' has no accounts here (known: {known})")
        return cloud

    def _guarded(self, fn: Callable[[TaskInput], TaskResult]) -> Callable[[TaskInput], TaskResult]:
        def run(inp: TaskInput) -> TaskResult:
            with heartbeating():
                try:
                    return fn(inp)
                except (StageInputError, NameError_, targets.TargetError, CloudError, ValueError) as err:
                    return _failure(err)

        return run

    # ---- deploy ----------------------------------------------------------------------------------

    @activity.defn(name="deploy_choose_names")
    def choose_names(self, inp: TaskInput) -> TaskResult:
        """Decide each new server group's name, account, region and image, once (kept in ``deploy.plan``)."""
        return self._guarded(self._choose_names)(inp)

    def _choose_names(self, inp: TaskInput) -> TaskResult:
        if isinstance(inp.context.get("deploy.plan"), list):
            return TaskResult.succeeded()  # decided already (a retry, or a resumed stage)
        plan: list[JSON] = []
        for i, given in enumerate(clusters_of(inp.context)):
            provider = str(given.get("cloudProvider") or given.get("provider") or "aws")
            cloud = self.cloud(provider)
            defaults = self._source_defaults(cloud, given, i)
            cluster = {**defaults, **{k: v for k, v in given.items() if v not in (None, "", [], {})}}
            account = cluster.get("account") or cluster.get("credentials")
            if not isinstance(account, str) or not account:
                raise StageInputError(f"clusters[{i}].account: which account to deploy to")
            moniker = Moniker.of(
                str(cluster.get("application") or inp.application), cluster.get("stack"), cluster.get("freeFormDetails")
            )
            capacity = _capacity(cluster.get("capacity"), f"clusters[{i}].capacity")
            rolling = str(cluster.get("strategy") or "").lower() == "rollingredblack"
            if rolling:
                target_percentages(cluster)  # refuse bad percentages before anything is created
            for region, zones in regions_of(cluster).items():
                existing = cloud.server_groups(account, region, moniker.cluster)
                source = _source_of(cluster, region, existing)
                plan.append(
                    {
                        "cluster": i,
                        "cloudProvider": provider,
                        "account": account,
                        "region": region,
                        "zones": zones,
                        "serverGroupName": next_name(moniker, [(g.name, g.created_ms) for g in existing]),
                        "clusterName": moniker.cluster,
                        "imageId": _image_for(cluster, region, provider, inp.ancestor_outputs),
                        # a rolling red/black starts the new group empty and grows it step by step (Orca)
                        "capacity": Capacity(0, 0, 0).to_json() if rolling else capacity.to_json(),
                        "savedCapacity": capacity.to_json(),
                        "source": source,
                        "executionId": inp.execution_id,
                        "stageId": inp.stage_id,
                        "sourceDefaults": defaults,
                    }
                )
        return TaskResult.succeeded({"deploy.plan": plan})

    @staticmethod
    def _source_defaults(cloud: ServerGroupCloud, cluster: JSON, index: int) -> JSON:
        """``cloneServerGroup``: what the new group takes from ``source`` ({account, region, asgName}) unless the
        stage says otherwise: image, instance type, load balancers, target groups, security groups, and the
        source's capacity with ``useSourceCapacity`` (or when the stage gives none)."""
        source = cluster.get("source")
        if not isinstance(source, dict) or not source:
            return {}
        name = source.get("asgName") or source.get("serverGroupName")
        account, region = source.get("account") or cluster.get("account"), source.get("region")
        if not (name and account and region):
            raise StageInputError(f"clusters[{index}].source: needs account, region and asgName")
        group = cloud.server_group(str(account), str(region), str(name))
        if group is None:
            raise NotFoundCloudError(f"clusters[{index}].source: {name} not found in {account}/{region}")
        defaults: JSON = {
            "imageId": group.image_id,
            "instanceType": group.instance_type,
            "loadBalancers": group.load_balancers,
            "targetGroups": group.target_groups,
            "securityGroups": group.security_groups,
        }
        if cluster.get("useSourceCapacity") in (True, "true") or not cluster.get("capacity"):
            defaults["capacity"] = group.capacity.to_json()
        return {k: v for k, v in defaults.items() if v}

    @activity.defn(name="deploy_create_server_groups")
    def create_server_groups(self, inp: TaskInput) -> TaskResult:
        """Create every planned group (a group that already has its name is taken as created)."""
        return self._guarded(self._create)(inp)

    def _create(self, inp: TaskInput) -> TaskResult:
        clusters = clusters_of(inp.context)
        by_region: dict[str, list[str]] = {}
        for item in inp.context.get("deploy.plan") or []:
            given = clusters[int(item["cluster"])]
            cluster = {
                **(item.get("sourceDefaults") or {}),
                **{k: v for k, v in given.items() if v not in (None, "", [], {})},
            }
            raw_tags = cluster.get("tags")
            request = CreateServerGroupRequest(
                name=item["serverGroupName"],
                account=item["account"],
                region=item["region"],
                image_id=item["imageId"],
                capacity=Capacity(**item["capacity"]),
                instance_type=str(
                    cluster.get("instanceType") or DEFAULT_INSTANCE_TYPES.get(item["cloudProvider"], "t3.micro")
                ),
                zones=list(item["zones"]),
                load_balancers=[str(x) for x in cluster.get("loadBalancers") or []],
                target_groups=[str(x) for x in cluster.get("targetGroups") or []],
                security_groups=[str(x) for x in cluster.get("securityGroups") or []],
                subnet_type=cluster.get("subnetType"),
                key_pair=cluster.get("keyPair"),
                user_data=cluster.get("base64UserData") or cluster.get("userData"),
                # AWS tags are a map; GCE's are a list of network tags, which reach it in ``extra``
                tags={str(k): str(v) for k, v in raw_tags.items()} if isinstance(raw_tags, dict) else {},
                extra={k: v for k, v in cluster.items() if k not in REQUEST_FIELDS},
            )
            cloud = self.cloud(item["cloudProvider"])
            created = cloud.create_server_group(request)
            self._cache(cloud, created.account, created.region, created.name)
            by_region.setdefault(created.region, []).append(created.name)
        names = [n for group in by_region.values() for n in group]
        context: JSON = {"deploy.server.groups": by_region, "serverGroupNames": names}
        if len(names) == 1:
            context["serverGroupName"] = context["asgName"] = names[0]
        return TaskResult.succeeded(context, {"deploy.server.groups": by_region})

    @activity.defn(name="deploy_wait_for_up_instances")
    def wait_for_up_instances(self, inp: TaskInput) -> TaskResult:
        """RUNNING until every new group has ``targetHealthyDeployPercentage`` (100) of its desired size Up."""
        return self._guarded(self._wait_up)(inp)

    def _wait_up(self, inp: TaskInput) -> TaskResult:
        percent = waits.percentage(inp.context.get("targetHealthyDeployPercentage"), "targetHealthyDeployPercentage")
        running_for = timedelta(milliseconds=max(0, int(time.time() * 1000) - inp.task_start_time_ms))
        waiting: list[str] = []
        clusters = clusters_of(inp.context)
        for item in inp.context.get("deploy.plan") or []:
            platform_only = _platform_health_only(clusters[int(item["cluster"])], inp.context)
            group = self.cloud(item["cloudProvider"]).server_group(
                item["account"], item["region"], item["serverGroupName"]
            )
            if group is None:  # Orca waits up to 10 minutes for a new group to show before it fails
                if running_for < waits.SERVER_GROUP_WAIT:
                    waiting.append(f"{item['serverGroupName']} (not there yet)")
                    continue
                raise NotFoundCloudError(f"server group {item['serverGroupName']} is gone from {item['region']}")
            needed = waits.healthy_target(group.capacity.desired, percent)
            healthy = group.healthy_count(platform_only=platform_only)
            if healthy < needed:
                waiting.append(f"{group.name} ({healthy}/{needed} up)")
        if waiting:
            return TaskResult.running(waits.backoff_ms(running_for), waitingFor=waiting)
        return TaskResult.succeeded({"waitingFor": []})

    # ---- one server group ------------------------------------------------------------------------

    @activity.defn(name="server_group_determine_target")
    def determine_target(self, inp: TaskInput) -> TaskResult:
        """Resolve ``target`` (or ``serverGroupName``) per region once, into ``targets`` (and the new
        capacity, for a resize), so the acting task never re-resolves after it has acted."""
        return self._guarded(self._determine)(inp)

    def _determine(self, inp: TaskInput) -> TaskResult:
        if isinstance(inp.context.get("targets"), list):
            return TaskResult.succeeded()
        ctx = inp.context
        cloud = self.cloud(ctx.get("cloudProvider"))
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
            cloud = self.cloud(target["cloudProvider"])
            act(cloud, target)
            self._cache(cloud, target["account"], target["region"], target["serverGroupName"])
            done.append(target["serverGroupName"])
        return TaskResult.succeeded({"serverGroupNames": done})

    @activity.defn(name="server_group_disable")
    def disable(self, inp: TaskInput) -> TaskResult:
        return self._guarded(
            lambda i: self._each_target(i, lambda c, t: c.disable(t["account"], t["region"], t["serverGroupName"]))
        )(inp)

    @activity.defn(name="server_group_enable")
    def enable(self, inp: TaskInput) -> TaskResult:
        return self._guarded(
            lambda i: self._each_target(i, lambda c, t: c.enable(t["account"], t["region"], t["serverGroupName"]))
        )(inp)

    @activity.defn(name="server_group_destroy")
    def destroy(self, inp: TaskInput) -> TaskResult:
        return self._guarded(
            lambda i: self._each_target(i, lambda c, t: c.destroy(t["account"], t["region"], t["serverGroupName"]))
        )(inp)

    @activity.defn(name="server_group_resize")
    def resize(self, inp: TaskInput) -> TaskResult:
        return self._guarded(
            lambda i: self._each_target(
                i, lambda c, t: c.resize(t["account"], t["region"], t["serverGroupName"], Capacity(**t["capacity"]))
            )
        )(inp)

    @activity.defn(name="server_group_wait_for_capacity")
    def wait_for_capacity(self, inp: TaskInput) -> TaskResult:
        """RUNNING until each resized group has its desired number of instances (all Up when it grew)."""
        return self._guarded(self._wait_capacity)(inp)

    def _wait_capacity(self, inp: TaskInput) -> TaskResult:
        waiting = []
        for t in inp.context.get("targets") or []:
            group = self.cloud(t["cloudProvider"]).server_group(t["account"], t["region"], t["serverGroupName"])
            desired = int(t["capacity"]["desired"])
            have = group.healthy_count(platform_only=_group_platform_only(group, inp.context)) if group else 0
            if group is None or len(group.instances) != desired or have < desired:
                waiting.append(f"{t['serverGroupName']} ({have}/{desired})")
        if waiting:
            return TaskResult.running(UP_BACKOFF_MS, waitingFor=waiting)
        return TaskResult.succeeded({"waitingFor": []})

    @activity.defn(name="deploy_cancel")
    def cancel(self, inp: TaskInput) -> TaskResult:
        """The deploy's cancel hook: with ``rollback.onFailure``, restore the replaced group and disable the
        new one (activities/deploy_cancel.py)."""
        return self._guarded(lambda i: cancel_rollback(self, i, clusters_of(i.context)))(inp)

    # ---- rollback (EXPLICIT) ---------------------------------------------------------------------

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
            healthy = (
                group.healthy_count(platform_only=not (group.load_balancers or group.target_groups)) if group else 0
            )
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

    # ---- cluster-wide ----------------------------------------------------------------------------

    @activity.defn(name="cluster_operate")
    def cluster_operate(self, inp: TaskInput) -> TaskResult:
        """``disableCluster`` / ``shrinkCluster`` / ``scaleDownCluster``: choose (once) and act."""
        return self._guarded(self._cluster)(inp)

    def _cluster(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        cloud = self.cloud(ctx.get("cloudProvider"))
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
                self._cache(cloud, account, str(region), name)
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
            cloud = self.cloud(req.get("cloudProvider"))
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

    # ---- images ----------------------------------------------------------------------------------

    @activity.defn(name="find_image")
    def find_image(self, inp: TaskInput) -> TaskResult:
        """``findImageFromTags`` (package + tags) and ``findImage`` (the image a cluster runs), per region,
        answered as ``amiDetails`` / ``deploymentDetails`` for the deploys downstream."""
        return self._guarded(self._find_image)(inp)

    def _find_image(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        provider = str(ctx.get("cloudProvider") or ctx.get("cloudProviderType") or "aws")
        cloud = self.cloud(provider)
        account = str(ctx.get("credentials") or ctx.get("account") or (cloud.accounts() or [""])[0])
        details: list[JSON] = []
        for region in ctx.get("regions") or []:
            if inp.stage_type in ("findImage", "findAmi"):
                groups = [
                    g
                    for g in cloud.server_groups(account, str(region), str(ctx.get("cluster")))
                    if not (ctx.get("onlyEnabled", True) and g.disabled)
                ]
                if not groups:
                    raise NotFoundCloudError(f"cluster: no server group of {ctx.get('cluster')} in {region}")
                group = targets.newest_first(groups)[0]
                image_id, image_name = group.image_id, group.image_name
            else:
                raw_tags = ctx.get("tags")
                tags: dict[str, Any] = raw_tags if isinstance(raw_tags, dict) else {}
                images = cloud.find_images(
                    account, str(region), package=ctx.get("packageName"), tags={str(k): str(v) for k, v in tags.items()}
                )
                if not images:
                    raise NotFoundCloudError(
                        f"packageName: no image of {ctx.get('packageName')} with {tags} in {region}"
                    )
                image_id, image_name = images[0].id, images[0].name
            details.append(
                {
                    "imageId": image_id,
                    "ami": image_id,
                    "imageName": image_name,
                    "amiName": image_name,
                    "region": region,
                    "cloudProvider": provider,
                }
            )
        return TaskResult.succeeded({"amiDetails": details}, {"deploymentDetails": details})


def build(clouds: dict[str, ServerGroupCloud], store: Any = None) -> list[Callable[..., Any]]:
    acts = DeployActivities(clouds, store)
    return [
        acts.choose_names,
        acts.create_server_groups,
        acts.wait_for_up_instances,
        acts.determine_target,
        acts.disable,
        acts.enable,
        acts.destroy,
        acts.resize,
        acts.wait_for_capacity,
        acts.cluster_operate,
        acts.cluster_size,
        acts.rollback,
        acts.cancel,
        acts.find_image,
    ]


__all__ = ["DeployActivities", "InvalidRequestError", "build"]
