"""Reading AWS as Clouddriver shows it: Auto Scaling groups with their launch templates, instances
and load-balancer health, turned into :class:`~providers.base.ServerGroup` and Gate's JSON.

One read gathers everything a set of groups needs with one call per kind of thing (instances,
images, each target group's and classic ELB's health, each launch template version), never one per
instance. Things that vanish between calls (a deleted target group, a deregistered AMI) are left out
rather than failing the read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from .aws_errors import error_class
from .aws_health import health_entries, instance_state
from .base import Capacity, Instance, NotFoundCloudError, ServerGroup

T = TypeVar("T")
JSON = dict[str, Any]
_CHUNK = 100  # values per EC2 filter (the API takes up to 200)


def epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def now_ms() -> int:
    return int(time.time() * 1000)


def camel(value: Any) -> Any:
    """AWS's PascalCase keys as the Java SDK's beans serialise them in Clouddriver (``imageId``)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    if isinstance(value, datetime):
        return epoch_ms(value)
    return value


def tags_of(resource: JSON) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags") or []}


def target_group_name(arn: str) -> str:
    """``arn:...:targetgroup/<name>/<id>`` → ``<name>``."""
    parts = arn.split(":")[-1].split("/")
    return parts[1] if len(parts) > 2 else arn


def template_spec(asg: JSON) -> JSON | None:
    """The group's launch template specification, direct or inside a mixed instances policy."""
    spec = asg.get("LaunchTemplate")
    if spec is None:
        policy = asg.get("MixedInstancesPolicy") or {}
        spec = (policy.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification")
    return spec


def template_key(spec: JSON) -> tuple[str, str]:
    """(template id or name, version) of a launch template specification."""
    return spec.get("LaunchTemplateId") or spec.get("LaunchTemplateName") or "", str(spec.get("Version") or "$Default")


def is_disabled(asg: JSON) -> bool:
    """Clouddriver's ``AmazonServerGroup.isDisabled()``: ``AddToLoadBalancer`` is suspended."""
    return any(p.get("ProcessName") == "AddToLoadBalancer" for p in asg.get("SuspendedProcesses") or [])


def missing_ok(call: Callable[..., T], **kwargs: Any) -> T | None:
    """``call(**kwargs)``, or None when AWS says the thing it names does not exist (any more)."""
    try:
        return call(**kwargs)
    except ClientError as err:
        error = err.response.get("Error") or {}
        if error_class(str(error.get("Code") or ""), None, str(error.get("Message") or "")) is NotFoundCloudError:
            return None
        raise


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def describe_groups(autoscaling: Any, names: list[str] | None = None) -> list[JSON]:
    kwargs: JSON = {"AutoScalingGroupNames": names} if names else {}
    pages = autoscaling.get_paginator("describe_auto_scaling_groups").paginate(**kwargs)
    return [g for page in pages for g in page["AutoScalingGroups"]]


@dataclass
class Gathered:
    """What the groups of one read refer to, fetched once."""

    instances: dict[str, JSON] = field(default_factory=dict)
    templates: dict[tuple[str, str], JSON] = field(default_factory=dict)
    image_names: dict[str, str] = field(default_factory=dict)
    #: target group ARN → instance id → TargetHealth.State
    target_health: dict[str, dict[str, str]] = field(default_factory=dict)
    #: classic ELB name → instance id → (State, Description)
    lb_health: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


def gather(ec2: Any, elbv2: Any, elb: Any, asgs: list[JSON]) -> Gathered:
    """Instances, launch template versions, image names and load balancer health of ``asgs``."""
    out = Gathered()
    ids = sorted({i["InstanceId"] for g in asgs for i in g.get("Instances") or []})
    for chunk in _chunks(ids):
        pages = ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "instance-id", "Values": chunk}])
        out.instances.update({i["InstanceId"]: i for p in pages for r in p["Reservations"] for i in r["Instances"]})
    for spec in filter(None, (template_spec(g) for g in asgs)):
        key = template_key(spec)
        if key in out.templates:
            continue
        by: JSON = {"LaunchTemplateId": key[0]} if key[0].startswith("lt-") else {"LaunchTemplateName": key[0]}
        found = missing_ok(ec2.describe_launch_template_versions, **by, Versions=[key[1]])
        versions = (found or {}).get("LaunchTemplateVersions") or []
        out.templates[key] = versions[0] if versions else {}
    images = sorted(
        {d["ImageId"] for v in out.templates.values() if (d := v.get("LaunchTemplateData") or {}).get("ImageId")}
    )
    for chunk in _chunks(images):
        found = ec2.describe_images(Filters=[{"Name": "image-id", "Values": chunk}])
        out.image_names.update({i["ImageId"]: i.get("Name", "") for i in found["Images"]})
    for arn in sorted({a for g in asgs for a in g.get("TargetGroupARNs") or []}):
        health = missing_ok(elbv2.describe_target_health, TargetGroupArn=arn)
        descriptions = (health or {}).get("TargetHealthDescriptions") or []
        out.target_health[arn] = {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in descriptions}
    for name in sorted({n for g in asgs for n in g.get("LoadBalancerNames") or []}):
        described = missing_ok(elb.describe_instance_health, LoadBalancerName=name)
        states = (described or {}).get("InstanceStates") or []
        out.lb_health[name] = {s["InstanceId"]: (s.get("State", ""), s.get("Description", "")) for s in states}
    return out


def instance_health(asg: JSON, instance_id: str, lifecycle: str | None, seen: Gathered) -> list[JSON]:
    """Clouddriver's health entries for one of the group's instances."""
    ec2 = seen.instances.get(instance_id)
    groups = {
        target_group_name(arn): states[instance_id]
        for arn in asg.get("TargetGroupARNs") or []
        if instance_id in (states := seen.target_health.get(arn, {}))
    }
    lbs = {
        name: lb_states[instance_id]
        for name in asg.get("LoadBalancerNames") or []
        if instance_id in (lb_states := seen.lb_health.get(name, {}))
    }
    ec2_state = ec2.get("State", {}).get("Name") if ec2 else None
    return health_entries(ec2_state, lifecycle, groups, lbs)


def template_of(asg: JSON, seen: Gathered) -> JSON:
    """The launch template version the group launches from, as gathered ({} when it is gone)."""
    return seen.templates.get(template_key(template_spec(asg) or {})) or {}


def server_group(account: str, region: str, asg: JSON, seen: Gathered, now: int) -> ServerGroup:
    """One Auto Scaling group as Clouddriver's ``AmazonServerGroup``."""
    version = template_of(asg, seen)
    data = version.get("LaunchTemplateData") or {}
    image_id = data.get("ImageId")
    instances = []
    for member in asg.get("Instances") or []:
        instance_id = member["InstanceId"]
        ec2 = seen.instances.get(instance_id) or {}
        entries = instance_health(asg, instance_id, member.get("LifecycleState"), seen)
        launch = epoch_ms(ec2.get("LaunchTime"))
        instances.append(
            Instance(
                id=instance_id,
                zone=member.get("AvailabilityZone") or (ec2.get("Placement") or {}).get("AvailabilityZone"),
                health_state=instance_state([e["state"] for e in entries], launch, now),
                launch_time_ms=launch,
                private_ip=ec2.get("PrivateIpAddress"),
            )
        )
    groups = list(data.get("SecurityGroupIds") or data.get("SecurityGroups") or [])
    for interface in data.get("NetworkInterfaces") or []:
        groups += [g for g in interface.get("Groups") or [] if g not in groups]
    spec = template_spec(asg) or {}
    return ServerGroup(
        name=asg["AutoScalingGroupName"],
        account=account,
        region=region,
        cloud_provider="aws",
        created_ms=epoch_ms(asg.get("CreatedTime")) or 0,
        capacity=Capacity(asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]),
        disabled=is_disabled(asg),
        instances=instances,
        zones=sorted(asg.get("AvailabilityZones") or []),
        image_id=image_id,
        image_name=seen.image_names.get(image_id) if image_id else None,
        instance_type=data.get("InstanceType"),
        load_balancers=list(asg.get("LoadBalancerNames") or []),
        target_groups=[target_group_name(a) for a in asg.get("TargetGroupARNs") or []],
        security_groups=groups,
        tags=tags_of(asg),
        launch_config={
            "launchTemplateId": version.get("LaunchTemplateId") or spec.get("LaunchTemplateId"),
            "launchTemplateName": version.get("LaunchTemplateName") or spec.get("LaunchTemplateName"),
            "version": spec.get("Version"),
            "versionNumber": version.get("VersionNumber"),
            "launchTemplateData": camel(data),
            "vpcZoneIdentifier": asg.get("VPCZoneIdentifier") or None,
            "suspendedProcesses": sorted(p["ProcessName"] for p in asg.get("SuspendedProcesses") or []),
        },
    )


def instance_json(account: str, region: str, ec2: JSON, health: list[JSON], now: int) -> JSON:
    """Clouddriver's ``AmazonInstance`` as Gate returns it for ``/instances/{account}/{region}/{id}``."""
    launch = epoch_ms(ec2.get("LaunchTime"))
    tags = tags_of(ec2)
    zone = (ec2.get("Placement") or {}).get("AvailabilityZone")
    return {
        **camel({k: v for k, v in ec2.items() if k not in ("Tags", "LaunchTime")}),
        "name": ec2["InstanceId"],
        "account": account,
        "region": region,
        "availabilityZone": zone,
        "zone": zone,
        "launchTime": launch,
        "health": health,
        "healthState": instance_state([e["state"] for e in health], launch, now),
        "serverGroup": tags.get("aws:autoscaling:groupName"),
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
        "cloudProvider": "aws",
        "providerType": "aws",
    }
