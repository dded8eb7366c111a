"""Clouddriver's server-group operations as activities: each wraps single cloud calls through
``providers`` and answers a :class:`TaskResult`. This module holds the deploy's own tasks (names,
create, wait for Up, the cancel hook) and assembles :class:`DeployActivities` from the others:
one server group (``deploy_server_groups``), cluster-wide (``deploy_clusters``), rollback
(``deploy_rollback``), images (``deploy_images``), shared parts (``deploy_base``).

Exactly once: every decision that depends on the cloud's state (the new group's name, which group
``current_asg_dynamic`` is, the size a percentage resize leads to) is taken by its own task and kept
in the stage context; the task that acts reads the decision and makes an idempotent call (create by
name, resize to an absolute size, disable/destroy by name). A worker that dies mid-task makes the
task run again with the same decision, never a second group or the wrong one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity

from core.tasks import TaskInput, TaskResult, target_percentages
from providers import targets
from providers.base import (
    Capacity,
    CreateServerGroupRequest,
    InvalidRequestError,
    NotFoundCloudError,
    ServerGroup,
    ServerGroupCloud,
)
from providers.naming import Moniker, next_name

from . import deploy_waits as waits
from .deploy_base import JSON, ProviderSessions, StageInputError, guarded, heartbeating, platform_health_only
from .deploy_cancel import cancel_rollback
from .deploy_clusters import ClusterActivities
from .deploy_images import ImageActivities
from .deploy_rollback import RollbackActivities
from .deploy_server_groups import ServerGroupActivities


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


class DeployActivities:
    """The deploy stage's activities (choose names, create, wait for up instances, cancel), on the provider
    sessions they are handed; the other server-group activities are their own classes on the same sessions."""

    def __init__(self, sessions: ProviderSessions) -> None:
        self.sessions = sessions

    # ---- deploy ----------------------------------------------------------------------------------

    @activity.defn(name="deploy_choose_names")
    def choose_names(self, inp: TaskInput) -> TaskResult:
        """Decide each new server group's name, account, region and image, once (kept in ``deploy.plan``)."""
        return guarded(self._choose_names)(inp)

    def _choose_names(self, inp: TaskInput) -> TaskResult:
        if isinstance(inp.context.get("deploy.plan"), list):
            return TaskResult.succeeded()  # decided already (a retry, or a resumed stage)
        plan: list[JSON] = []
        for i, given in enumerate(clusters_of(inp.context)):
            provider = str(given.get("cloudProvider") or given.get("provider") or "aws")
            cloud = self.sessions.cloud(provider)
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
        return guarded(self._create)(inp)

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
            session = self.sessions.session(item["cloudProvider"])
            created = session.cloud.create_server_group(request)
            session.refresh(created.account, created.region, created.name)
            by_region.setdefault(created.region, []).append(created.name)
        names = [n for group in by_region.values() for n in group]
        context: JSON = {"deploy.server.groups": by_region, "serverGroupNames": names}
        if len(names) == 1:
            context["serverGroupName"] = context["asgName"] = names[0]
        return TaskResult.succeeded(context, {"deploy.server.groups": by_region})

    @activity.defn(name="deploy_wait_for_up_instances")
    def wait_for_up_instances(self, inp: TaskInput) -> TaskResult:
        """RUNNING until every new group has ``targetHealthyDeployPercentage`` (100) of its desired size Up."""
        return guarded(self._wait_up)(inp)

    def _wait_up(self, inp: TaskInput) -> TaskResult:
        percent = waits.percentage(inp.context.get("targetHealthyDeployPercentage"), "targetHealthyDeployPercentage")
        running_for = timedelta(milliseconds=max(0, int(time.time() * 1000) - inp.task_start_time_ms))
        waiting: list[str] = []
        clusters = clusters_of(inp.context)
        for item in inp.context.get("deploy.plan") or []:
            platform_only = platform_health_only(inp.context, clusters[int(item["cluster"])])
            group = self.sessions.cloud(item["cloudProvider"]).server_group(
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

    @activity.defn(name="deploy_cancel")
    def cancel(self, inp: TaskInput) -> TaskResult:
        """The deploy's cancel hook: with ``rollback.onFailure``, restore the replaced group and disable the
        new one (activities/deploy_cancel.py)."""
        return guarded(lambda i: cancel_rollback(self.sessions, i, clusters_of(i.context)))(inp)


def build(clouds: dict[str, ServerGroupCloud], store: Any = None) -> list[Callable[..., Any]]:
    """Every server-group activity, each class composed on the same provider sessions."""
    sessions = ProviderSessions(clouds, store)
    deploy, groups = DeployActivities(sessions), ServerGroupActivities(sessions)
    clusters, rollback, images = ClusterActivities(sessions), RollbackActivities(sessions), ImageActivities(sessions)
    return [
        deploy.choose_names,
        deploy.create_server_groups,
        deploy.wait_for_up_instances,
        groups.determine_target,
        groups.disable,
        groups.enable,
        groups.destroy,
        groups.resize,
        groups.wait_for_capacity,
        clusters.cluster_operate,
        clusters.cluster_size,
        rollback.rollback,
        rollback.rollback_candidates,
        deploy.cancel,
        images.find_image,
    ]


__all__ = ["DeployActivities", "InvalidRequestError", "ProviderSessions", "StageInputError", "build", "heartbeating"]
