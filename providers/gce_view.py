"""How a regional managed instance group, its instance template and its managed instances read as one
:class:`~providers.base.ServerGroup`, following Clouddriver's ``AbstractGoogleServerGroupCachingAgent``:

- created: the group's ``creationTimestamp``; capacity: min = max = desired = ``targetSize`` (a group
  without an autoscaler has no other bounds, and Clouddriver shows it so); with an autoscaler targeting the
  group, min and max are its ``minNumReplicas``/``maxNumReplicas`` and ``autoscalingPolicy`` is shown;
- image, machine type and labels from the template; load balancers from the template's
  ``load-balancer-names`` and ``global-load-balancer-names`` metadata;
- disabled when the template lists network load balancers and the group is in none of their target
  pools (``setAutoscalerGroup``): that is what Clouddriver's disable leaves behind.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from google.cloud import compute_v1

from .base import Capacity, Instance, ServerGroup
from .gce_health import managed_instance_state

JSON = dict[str, Any]

#: Clouddriver's ``GCEUtil`` metadata keys
REGIONAL_LOAD_BALANCER_NAMES = "load-balancer-names"
GLOBAL_LOAD_BALANCER_NAMES = "global-load-balancer-names"
BACKEND_SERVICE_NAMES = "backend-service-names"
REGION_BACKEND_SERVICE_NAMES = "region-backend-service-names"
LOAD_BALANCING_POLICY = "load-balancing-policy"
#: Clouddriver's labels on every template it makes (``buildLabelsFromInput``)
SERVER_GROUP_LABEL = "spinnaker-server-group"
REGION_LABEL = "spinnaker-region"


def local_name(url: str | None) -> str:
    """``.../instanceTemplates/app-v001-12345678`` → ``app-v001-12345678``."""
    return (url or "").rstrip("/").rsplit("/", 1)[-1]


def segment_after(url: str | None, collection: str) -> str | None:
    """The path segment after ``collection`` (``zones``, ``projects``...) in a resource URL."""
    parts = (url or "").split("/")
    for index, part in enumerate(parts[:-1]):
        if part == collection:
            return parts[index + 1]
    return None


def epoch_ms(timestamp: str | None) -> int | None:
    """Compute's RFC 3339 timestamps (``2024-05-02T03:04:05.678-07:00``) as epoch milliseconds."""
    if not timestamp:
        return None
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


def metadata_of(template: compute_v1.InstanceTemplate | None) -> dict[str, str]:
    if template is None:
        return {}
    return {item.key: item.value for item in template.properties.metadata.items if item.key}


def split_names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def boot_image(template: compute_v1.InstanceTemplate | None) -> str | None:
    """The local name of the boot disk's source image (Clouddriver's ``launchConfig.imageId``)."""
    if template is None:
        return None
    for disk in template.properties.disks:
        if disk.boot and disk.initialize_params.source_image:
            return local_name(disk.initialize_params.source_image)
    return None


def is_disabled(mig: compute_v1.InstanceGroupManager, template: compute_v1.InstanceTemplate | None) -> bool:
    """Clouddriver's rule: a template that names regional load balancers, on a group in no target pool."""
    metadata = metadata_of(template)
    return REGIONAL_LOAD_BALANCER_NAMES in metadata and not list(mig.target_pools)


def instance_of(managed: compute_v1.ManagedInstance) -> Instance:
    checks = [h.detailed_health_state for h in managed.instance_health if h.detailed_health_state]
    return Instance(
        id=managed.name or local_name(managed.instance),
        zone=segment_after(managed.instance, "zones"),
        health_state=managed_instance_state(managed.instance_status or None, managed.current_action or None, checks),
    )


def _compact(value: Any) -> Any:
    """A template as JSON without the empty lists and maps proto-plus fills in."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in ({}, [], None, "")}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def autoscaling_policy(autoscaler: compute_v1.Autoscaler) -> JSON:
    """Clouddriver's ``GoogleAutoscalingPolicy`` of an autoscaler (``minNumReplicas, maxNumReplicas,
    coolDownPeriodSec, cpuUtilization, loadBalancingUtilization, customMetricUtilizations, mode...``)."""
    policy = autoscaler.autoscaling_policy
    out: JSON = {
        "minNumReplicas": int(policy.min_num_replicas),
        "maxNumReplicas": int(policy.max_num_replicas),
        "coolDownPeriodSec": int(policy.cool_down_period_sec) if policy.cool_down_period_sec else None,
        "mode": policy.mode or "ON",
    }
    if "cpu_utilization" in policy:
        cpu: JSON = {"utilizationTarget": policy.cpu_utilization.utilization_target}
        if policy.cpu_utilization.predictive_method:
            cpu["predictiveMethod"] = policy.cpu_utilization.predictive_method
        out["cpuUtilization"] = cpu
    if "load_balancing_utilization" in policy:
        out["loadBalancingUtilization"] = {"utilizationTarget": policy.load_balancing_utilization.utilization_target}
    if policy.custom_metric_utilizations:
        out["customMetricUtilizations"] = [
            {
                "metric": m.metric,
                "utilizationTarget": m.utilization_target or None,
                "utilizationTargetType": m.utilization_target_type or None,
                "filter": m.filter or None,
                "singleInstanceAssignment": m.single_instance_assignment or None,
            }
            for m in policy.custom_metric_utilizations
        ]
    if "scale_in_control" in policy:
        control = policy.scale_in_control
        out["scaleInControl"] = {
            "maxScaledInReplicas": {
                "fixed": control.max_scaled_in_replicas.fixed or None,
                "percent": control.max_scaled_in_replicas.percent or None,
            },
            "timeWindowSec": control.time_window_sec or None,
        }
    return out


def server_group(
    account: str,
    region: str,
    mig: compute_v1.InstanceGroupManager,
    template: compute_v1.InstanceTemplate | None,
    managed: list[compute_v1.ManagedInstance],
    autoscaler: compute_v1.Autoscaler | None = None,
    disabled: bool | None = None,
) -> ServerGroup:
    instances = [instance_of(m) for m in managed]
    zones = [local_name(z.zone) for z in mig.distribution_policy.zones]
    metadata = metadata_of(template)
    image = boot_image(template)
    created = epoch_ms(mig.creation_timestamp) or 0
    machine_type = (
        local_name(template.properties.machine_type) if template and template.properties.machine_type else None
    )
    launch_config: JSON = {"createdTime": created}
    if template is not None:
        launch_config |= {
            "launchConfigurationName": template.name,
            "instanceTemplate": _compact(
                compute_v1.InstanceTemplate.to_dict(template, preserving_proto_field_name=False)
            ),
            "instanceType": machine_type,
            "imageId": image,
        }
    load_balancers = split_names(metadata.get(REGIONAL_LOAD_BALANCER_NAMES))
    load_balancers += split_names(metadata.get(GLOBAL_LOAD_BALANCER_NAMES))
    size = int(mig.target_size)
    policy = autoscaling_policy(autoscaler) if autoscaler is not None else None
    capacity = Capacity(min=size, max=size, desired=size)
    if policy is not None:  # Clouddriver's bounds of an autoscaled group: the autoscaler's
        capacity = Capacity(min=policy["minNumReplicas"], max=policy["maxNumReplicas"], desired=size)
    return ServerGroup(
        name=mig.name,
        account=account,
        region=region,
        cloud_provider="gce",
        created_ms=created,
        capacity=capacity,
        disabled=is_disabled(mig, template) if disabled is None else disabled,
        instances=instances,
        zones=zones or sorted({i.zone for i in instances if i.zone}),
        image_id=image,
        image_name=image,
        instance_type=machine_type,
        load_balancers=list(dict.fromkeys(load_balancers)),
        tags=dict(template.properties.labels) if template else {},
        launch_config=launch_config,
        autoscaling_policy=policy,
    )
