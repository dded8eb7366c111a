"""Typed builders for Clouddriver's infrastructure stages (see docs/infrastructure.md)::

    sg = UpsertSecurityGroup("myapp-elb", account="prod", regions=["us-east-1"], vpc_id="vpc-1",
                             ip_ingress=[{"cidr": "10.0.0.0/8", "ipProtocol": "tcp", "startPort": 443}])
    lb = UpsertLoadBalancer("myapp-api", account="prod", regions=["us-east-1"], load_balancer_type="application",
                            subnet_type="internal", target_groups=[{"name": "myapp-api-web", "port": 7001}],
                            listeners=[{"port": 80, "defaultActions": [{"targetGroupName": "myapp-api-web"}]}])

Each writes Orca's context fields (``credentials``, ``regions``, ``cloudProvider`` and the operation's own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .pipelines import JSON, Stage, _jsonable, _strings, _text


@dataclass(eq=False)
class _InfraStage(Stage):
    account: str = field(kw_only=True)
    regions: Sequence[str] = field(default=(), kw_only=True)
    cloud_provider: str = field(default="aws", kw_only=True)

    def _base(self, *, need_regions: bool = True) -> JSON:
        out: JSON = {
            "credentials": _text(self.account, self._where("account")),
            "cloudProvider": _text(self.cloud_provider, self._where("cloud_provider")),
        }
        regions = _strings(self.regions, self._where("regions"))
        if need_regions and not regions:
            raise self._error("regions", "name at least one region")
        if regions:
            out["regions"] = regions
        return out

    def _json(self, attr: str) -> Any:
        return _jsonable(getattr(self, attr), self._where(attr))


@dataclass(eq=False)
class UpsertSecurityGroup(_InfraStage):
    """``upsertSecurityGroup``: an AWS security group (ingress from CIDRs and other groups) or a GCE firewall rule
    (``allowed``, ``source_ranges``, ``source_tags``, ``target_tags``, ``network``)."""

    TYPE: ClassVar[str] = "upsertSecurityGroup"
    DEFAULT_NAME: ClassVar[str] = "Upsert Security Group"

    group_name: str
    description: str | None = field(default=None, kw_only=True)
    vpc_id: str | None = field(default=None, kw_only=True)
    ip_ingress: Sequence[Mapping[str, Any]] = field(default=(), kw_only=True)
    security_group_ingress: Sequence[Mapping[str, Any]] = field(default=(), kw_only=True)
    network: str | None = field(default=None, kw_only=True)
    allowed: Sequence[Mapping[str, Any]] = field(default=(), kw_only=True)
    source_ranges: Sequence[str] = field(default=(), kw_only=True)
    source_tags: Sequence[str] = field(default=(), kw_only=True)
    target_tags: Sequence[str] = field(default=(), kw_only=True)

    def _fields(self) -> JSON:
        gce = self.cloud_provider == "gce"
        out = self._base(need_regions=not gce)
        name = _text(self.group_name, self._where("group_name"))
        out["securityGroupName" if gce else "name"] = name
        if self.description is not None:
            out["description"] = _text(self.description, self._where("description"))
        if gce:
            out["network"] = self.network or "default"
            out["allowed"] = self._json("allowed")
            out["sourceRanges"] = _strings(self.source_ranges, self._where("source_ranges"))
            out["sourceTags"] = _strings(self.source_tags, self._where("source_tags"))
            out["targetTags"] = _strings(self.target_tags, self._where("target_tags"))
        else:
            if self.vpc_id is not None:
                out["vpcId"] = _text(self.vpc_id, self._where("vpc_id"))
            out["ipIngress"] = self._json("ip_ingress")
            out["securityGroupIngress"] = self._json("security_group_ingress")
        return out


@dataclass(eq=False)
class DeleteSecurityGroup(_InfraStage):
    TYPE: ClassVar[str] = "deleteSecurityGroup"
    DEFAULT_NAME: ClassVar[str] = "Delete Security Group"

    group_name: str
    vpc_id: str | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out = self._base(need_regions=self.cloud_provider != "gce")
        out["securityGroupName"] = _text(self.group_name, self._where("group_name"))
        if self.vpc_id is not None:
            out["vpcId"] = _text(self.vpc_id, self._where("vpc_id"))
        return out


@dataclass(eq=False)
class UpsertLoadBalancer(_InfraStage):
    """``upsertLoadBalancer``: a classic ELB (``listeners`` with external/internal ports, ``health_check``) or an
    ALB/NLB (``target_groups`` and ``listeners`` forwarding to them by ``targetGroupName``)."""

    TYPE: ClassVar[str] = "upsertLoadBalancer"
    DEFAULT_NAME: ClassVar[str] = "Upsert Load Balancer"
    KINDS: ClassVar[tuple[str, ...]] = ("classic", "application", "network")

    balancer_name: str
    load_balancer_type: str = field(default="classic", kw_only=True)
    subnet_type: str | None = field(default=None, kw_only=True)
    security_groups: Sequence[str] = field(default=(), kw_only=True)
    listeners: Sequence[Mapping[str, Any]] = field(default=(), kw_only=True)
    target_groups: Sequence[Mapping[str, Any]] = field(default=(), kw_only=True)
    health_check: str | None = field(default=None, kw_only=True)
    internal: bool = field(default=False, kw_only=True)

    def _fields(self) -> JSON:
        if self.load_balancer_type not in self.KINDS:
            raise self._error("load_balancer_type", f"must be one of {self.KINDS}, got {self.load_balancer_type!r}")
        if not self.listeners:
            raise self._error("listeners", "name at least one listener")
        out = self._base()
        out |= {
            "name": _text(self.balancer_name, self._where("balancer_name")),
            "loadBalancerType": self.load_balancer_type,
            "listeners": self._json("listeners"),
            "targetGroups": self._json("target_groups"),
            "securityGroups": _strings(self.security_groups, self._where("security_groups")),
            "isInternal": bool(self.internal),
        }
        if self.subnet_type is not None:
            out["subnetType"] = _text(self.subnet_type, self._where("subnet_type"))
        if self.health_check is not None:
            out["healthCheck"] = _text(self.health_check, self._where("health_check"))
        return out


@dataclass(eq=False)
class DeleteLoadBalancer(_InfraStage):
    TYPE: ClassVar[str] = "deleteLoadBalancer"
    DEFAULT_NAME: ClassVar[str] = "Delete Load Balancer"

    balancer_name: str
    load_balancer_type: str | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out = self._base()
        out["loadBalancerName"] = _text(self.balancer_name, self._where("balancer_name"))
        if self.load_balancer_type is not None:
            out["loadBalancerType"] = _text(self.load_balancer_type, self._where("load_balancer_type"))
        return out


@dataclass(eq=False)
class UpsertScalingPolicy(_InfraStage):
    """``upsertScalingPolicy`` on ``server_group`` in one region: ``target_tracking`` (Clouddriver's
    ``targetTrackingConfiguration``), ``step`` or ``simple``; ``policy_name`` updates an existing policy."""

    TYPE: ClassVar[str] = "upsertScalingPolicy"
    DEFAULT_NAME: ClassVar[str] = "Upsert Scaling Policy"

    server_group: str
    region: str = field(kw_only=True)
    policy_name: str | None = field(default=None, kw_only=True)
    target_tracking: Mapping[str, Any] | None = field(default=None, kw_only=True)
    step: Mapping[str, Any] | None = field(default=None, kw_only=True)
    simple: Mapping[str, Any] | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        given = [k for k in ("target_tracking", "step", "simple") if getattr(self, k) is not None]
        if len(given) != 1:
            raise self._error("target_tracking", "give exactly one of target_tracking, step, simple")
        out = self._base(need_regions=False)
        out["serverGroupName"] = _text(self.server_group, self._where("server_group"))
        out["region"] = _text(self.region, self._where("region"))
        if self.policy_name is not None:
            out["policyName"] = _text(self.policy_name, self._where("policy_name"))
        key = {"target_tracking": "targetTrackingConfiguration", "step": "step", "simple": "simple"}[given[0]]
        out[key] = self._json(given[0])
        return out


@dataclass(eq=False)
class DeleteScalingPolicy(_InfraStage):
    TYPE: ClassVar[str] = "deleteScalingPolicy"
    DEFAULT_NAME: ClassVar[str] = "Delete Scaling Policy"

    server_group: str
    policy_name: str = field(kw_only=True)
    region: str = field(kw_only=True)

    def _fields(self) -> JSON:
        out = self._base(need_regions=False)
        out["serverGroupName"] = _text(self.server_group, self._where("server_group"))
        out["policyName"] = _text(self.policy_name, self._where("policy_name"))
        out["region"] = _text(self.region, self._where("region"))
        return out


@dataclass(eq=False)
class UpsertAsgScheduledActions(_InfraStage):
    """``upsertAsgScheduledActions``: each group's scheduled actions become exactly ``scheduled_actions``
    (``{recurrence, minSize, maxSize, desiredCapacity}``); ``asgs`` are ``{asgName, region}``."""

    TYPE: ClassVar[str] = "upsertAsgScheduledActions"
    DEFAULT_NAME: ClassVar[str] = "Upsert Scheduled Actions"

    asgs: Sequence[Mapping[str, str]]
    scheduled_actions: Sequence[Mapping[str, Any]] = field(kw_only=True)

    def _fields(self) -> JSON:
        if not self.asgs:
            raise self._error("asgs", "name at least one {asgName, region}")
        out = self._base(need_regions=False)
        out["asgs"] = self._json("asgs")
        out["scheduledActions"] = self._json("scheduled_actions")
        return out


@dataclass(eq=False)
class DeleteAsgScheduledActions(_InfraStage):
    TYPE: ClassVar[str] = "deleteAsgScheduledActions"
    DEFAULT_NAME: ClassVar[str] = "Delete Scheduled Actions"

    asgs: Sequence[Mapping[str, str]]
    names: Sequence[str] | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out = self._base(need_regions=False)
        out["asgs"] = self._json("asgs")
        if self.names is not None:
            out["scheduledActionNames"] = _strings(self.names, self._where("names"))
        return out


@dataclass(eq=False)
class UpsertImageTags(_InfraStage):
    TYPE: ClassVar[str] = "upsertImageTags"
    DEFAULT_NAME: ClassVar[str] = "Upsert Image Tags"

    image_names: Sequence[str]
    tags: Mapping[str, str] = field(kw_only=True)

    def _fields(self) -> JSON:
        if not self.tags:
            raise self._error("tags", "name at least one tag")
        out = self._base()
        out["imageNames"] = _strings(self.image_names, self._where("image_names"))
        out["tags"] = {str(k): _text(v, self._where(f"tags[{k!r}]")) for k, v in self.tags.items()}
        return out


@dataclass(eq=False)
class UpdateLaunchTemplate(_InfraStage):
    """``updateLaunchTemplate``: a new launch template version for ``server_group`` with the fields given."""

    TYPE: ClassVar[str] = "updateLaunchTemplate"
    DEFAULT_NAME: ClassVar[str] = "Update Launch Template"

    server_group: str
    region: str = field(kw_only=True)
    image: str | None = field(default=None, kw_only=True)
    instance_type: str | None = field(default=None, kw_only=True)
    security_groups: Sequence[str] | None = field(default=None, kw_only=True)
    key_pair: str | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out = self._base(need_regions=False)
        out["serverGroupName"] = _text(self.server_group, self._where("server_group"))
        out["region"] = _text(self.region, self._where("region"))
        for attr, key in (("image", "amiName"), ("instance_type", "instanceType"), ("key_pair", "keyPair")):
            if getattr(self, attr) is not None:
                out[key] = _text(getattr(self, attr), self._where(attr))
        if self.security_groups is not None:
            out["securityGroups"] = _strings(self.security_groups, self._where("security_groups"))
        if len(out) == 4:
            raise self._error("image", "give at least one of image, instance_type, security_groups, key_pair")
        return out


__all__ = [
    "DeleteAsgScheduledActions",
    "DeleteLoadBalancer",
    "DeleteScalingPolicy",
    "DeleteSecurityGroup",
    "UpsertAsgScheduledActions",
    "UpsertImageTags",
    "UpsertLoadBalancer",
    "UpsertScalingPolicy",
    "UpsertSecurityGroup",
    "UpdateLaunchTemplate",
]
