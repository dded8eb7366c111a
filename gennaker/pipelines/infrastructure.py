"""Typed builders for Clouddriver's infrastructure stages (see docs/infrastructure.md)::

    sg = UpsertSecurityGroup("myapp-elb", account="prod", regions=["us-east-1"], vpc_id="vpc-1",
                             ip_ingress=[{"cidr": "10.0.0.0/8", "ipProtocol": "tcp", "startPort": 443}])
    lb = UpsertLoadBalancer("myapp-api", account="prod", regions=["us-east-1"], load_balancer_type="application",
                            subnet_type="internal", target_groups=[{"name": "myapp-api-web", "port": 7001}],
                            listeners=[{"port": 80, "defaultActions": [{"targetGroupName": "myapp-api-web"}]}])

Each writes Orca's context fields (``credentials``, ``regions``, ``cloudProvider`` and the operation's own).
The stages share one shape, so each is a table: its fields (builder attribute -> Orca key, and how the value is
checked), whether it needs regions, and which lists must not be empty; a hook adds what a table cannot say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .checks import JSON, _jsonable, _strings, _text
from .stage import Stage


@dataclass(frozen=True)
class _Key:
    """One field of an infrastructure stage: the builder's ``attr``, Orca's ``key`` and how it is checked.

    ``kind``: ``text`` (a non-empty string), ``strings`` (a list of them), ``json`` (JSON data), ``flag``
    (written as a bool), ``tags`` (a dict of name -> text), ``raw`` (checked elsewhere; ``default`` when empty).
    ``optional``: ``None`` leaves the key out.
    """

    attr: str
    key: str
    kind: str = "text"
    optional: bool = False
    default: Any = None


def _optional(attr: str, key: str, kind: str = "text") -> _Key:
    return _Key(attr, key, kind, optional=True)


@dataclass(eq=False)
class _InfraStage(Stage):
    #: the stage's own fields, in the order Orca's context lists them
    KEYS: ClassVar[tuple[_Key, ...]] = ()
    #: ``required``, ``optional``, or ``unless-gce`` (GCE's firewall rules are global)
    REGIONS: ClassVar[str] = "required"
    #: lists that must name at least one thing: (attr, what the message asks for)
    NON_EMPTY: ClassVar[tuple[tuple[str, str], ...]] = ()

    account: str = field(kw_only=True)
    regions: Sequence[str] = field(default=(), kw_only=True)
    cloud_provider: str = field(default="aws", kw_only=True)

    def _fields(self) -> JSON:
        self._check()
        for attr, wanted in self.NON_EMPTY:
            if not getattr(self, attr):
                raise self._error(attr, f"name at least one {wanted}")
        out = self._base()
        for key in self._keys():
            value = getattr(self, key.attr)
            if value is None and key.optional:
                continue
            out[key.key] = self._read(key, value)
        return out

    def _check(self) -> None:
        """Rules across fields that the table cannot say (one of several, a choice of values)."""

    def _keys(self) -> tuple[_Key, ...]:
        return self.KEYS

    def _base(self) -> JSON:
        need_regions = self.REGIONS == "required" or (self.REGIONS == "unless-gce" and self.cloud_provider != "gce")
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

    def _read(self, key: _Key, value: Any) -> Any:
        where = self._where(key.attr)
        if key.kind == "text":
            return _text(value, where)
        if key.kind == "strings":
            return _strings(value, where)
        if key.kind == "json":
            return _jsonable(value, where)
        if key.kind == "flag":
            return bool(value)
        if key.kind == "tags":
            return {str(k): _text(v, self._where(f"{key.attr}[{k!r}]")) for k, v in value.items()}
        return value or key.default


@dataclass(eq=False)
class UpsertSecurityGroup(_InfraStage):
    """``upsertSecurityGroup``: an AWS security group (ingress from CIDRs and other groups) or a GCE firewall rule
    (``allowed``, ``source_ranges``, ``source_tags``, ``target_tags``, ``network``)."""

    TYPE: ClassVar[str] = "upsertSecurityGroup"
    DEFAULT_NAME: ClassVar[str] = "Upsert Security Group"
    REGIONS: ClassVar[str] = "unless-gce"
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("group_name", "name"),
        _optional("description", "description"),
        _optional("vpc_id", "vpcId"),
        _Key("ip_ingress", "ipIngress", "json"),
        _Key("security_group_ingress", "securityGroupIngress", "json"),
    )
    GCE_KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("group_name", "securityGroupName"),
        _optional("description", "description"),
        _Key("network", "network", "raw", default="default"),
        _Key("allowed", "allowed", "json"),
        _Key("source_ranges", "sourceRanges", "strings"),
        _Key("source_tags", "sourceTags", "strings"),
        _Key("target_tags", "targetTags", "strings"),
    )

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

    def _keys(self) -> tuple[_Key, ...]:
        return self.GCE_KEYS if self.cloud_provider == "gce" else self.KEYS


@dataclass(eq=False)
class DeleteSecurityGroup(_InfraStage):
    TYPE: ClassVar[str] = "deleteSecurityGroup"
    DEFAULT_NAME: ClassVar[str] = "Delete Security Group"
    REGIONS: ClassVar[str] = "unless-gce"
    KEYS: ClassVar[tuple[_Key, ...]] = (_Key("group_name", "securityGroupName"), _optional("vpc_id", "vpcId"))

    group_name: str
    vpc_id: str | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class UpsertLoadBalancer(_InfraStage):
    """``upsertLoadBalancer``: a classic ELB (``listeners`` with external/internal ports, ``health_check``) or an
    ALB/NLB (``target_groups`` and ``listeners`` forwarding to them by ``targetGroupName``)."""

    TYPE: ClassVar[str] = "upsertLoadBalancer"
    DEFAULT_NAME: ClassVar[str] = "Upsert Load Balancer"
    KINDS: ClassVar[tuple[str, ...]] = ("classic", "application", "network")
    NON_EMPTY: ClassVar[tuple[tuple[str, str], ...]] = (("listeners", "listener"),)
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("balancer_name", "name"),
        _Key("load_balancer_type", "loadBalancerType", "raw"),
        _Key("listeners", "listeners", "json"),
        _Key("target_groups", "targetGroups", "json"),
        _Key("security_groups", "securityGroups", "strings"),
        _Key("internal", "isInternal", "flag"),
        _optional("subnet_type", "subnetType"),
        _optional("health_check", "healthCheck"),
    )

    balancer_name: str
    load_balancer_type: str = field(default="classic", kw_only=True)
    subnet_type: str | None = field(default=None, kw_only=True)
    security_groups: Sequence[str] = field(default=(), kw_only=True)
    listeners: Sequence[Mapping[str, Any]] = field(default=(), kw_only=True)
    target_groups: Sequence[Mapping[str, Any]] = field(default=(), kw_only=True)
    health_check: str | None = field(default=None, kw_only=True)
    internal: bool = field(default=False, kw_only=True)

    def _check(self) -> None:
        if self.load_balancer_type not in self.KINDS:
            raise self._error("load_balancer_type", f"must be one of {self.KINDS}, got {self.load_balancer_type!r}")


@dataclass(eq=False)
class DeleteLoadBalancer(_InfraStage):
    TYPE: ClassVar[str] = "deleteLoadBalancer"
    DEFAULT_NAME: ClassVar[str] = "Delete Load Balancer"
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("balancer_name", "loadBalancerName"),
        _optional("load_balancer_type", "loadBalancerType"),
    )

    balancer_name: str
    load_balancer_type: str | None = field(default=None, kw_only=True)


_POLICIES = {"target_tracking": "targetTrackingConfiguration", "step": "step", "simple": "simple"}


@dataclass(eq=False)
class UpsertScalingPolicy(_InfraStage):
    """``upsertScalingPolicy`` on ``server_group`` in one region: ``target_tracking`` (Clouddriver's
    ``targetTrackingConfiguration``), ``step`` or ``simple``; ``policy_name`` updates an existing policy."""

    TYPE: ClassVar[str] = "upsertScalingPolicy"
    DEFAULT_NAME: ClassVar[str] = "Upsert Scaling Policy"
    REGIONS: ClassVar[str] = "optional"
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("server_group", "serverGroupName"),
        _Key("region", "region"),
        _optional("policy_name", "policyName"),
        *(_optional(attr, key, "json") for attr, key in _POLICIES.items()),
    )

    server_group: str
    region: str = field(kw_only=True)
    policy_name: str | None = field(default=None, kw_only=True)
    target_tracking: Mapping[str, Any] | None = field(default=None, kw_only=True)
    step: Mapping[str, Any] | None = field(default=None, kw_only=True)
    simple: Mapping[str, Any] | None = field(default=None, kw_only=True)

    def _check(self) -> None:
        if sum(getattr(self, attr) is not None for attr in _POLICIES) != 1:
            raise self._error("target_tracking", "give exactly one of target_tracking, step, simple")


@dataclass(eq=False)
class DeleteScalingPolicy(_InfraStage):
    TYPE: ClassVar[str] = "deleteScalingPolicy"
    DEFAULT_NAME: ClassVar[str] = "Delete Scaling Policy"
    REGIONS: ClassVar[str] = "optional"
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("server_group", "serverGroupName"),
        _Key("policy_name", "policyName"),
        _Key("region", "region"),
    )

    server_group: str
    policy_name: str = field(kw_only=True)
    region: str = field(kw_only=True)


@dataclass(eq=False)
class UpsertAsgScheduledActions(_InfraStage):
    """``upsertAsgScheduledActions``: each group's scheduled actions become exactly ``scheduled_actions``
    (``{recurrence, minSize, maxSize, desiredCapacity}``); ``asgs`` are ``{asgName, region}``."""

    TYPE: ClassVar[str] = "upsertAsgScheduledActions"
    DEFAULT_NAME: ClassVar[str] = "Upsert Scheduled Actions"
    REGIONS: ClassVar[str] = "optional"
    NON_EMPTY: ClassVar[tuple[tuple[str, str], ...]] = (("asgs", "{asgName, region}"),)
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("asgs", "asgs", "json"),
        _Key("scheduled_actions", "scheduledActions", "json"),
    )

    asgs: Sequence[Mapping[str, str]]
    scheduled_actions: Sequence[Mapping[str, Any]] = field(kw_only=True)


@dataclass(eq=False)
class DeleteAsgScheduledActions(_InfraStage):
    TYPE: ClassVar[str] = "deleteAsgScheduledActions"
    DEFAULT_NAME: ClassVar[str] = "Delete Scheduled Actions"
    REGIONS: ClassVar[str] = "optional"
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("asgs", "asgs", "json"),
        _optional("names", "scheduledActionNames", "strings"),
    )

    asgs: Sequence[Mapping[str, str]]
    names: Sequence[str] | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class UpsertImageTags(_InfraStage):
    TYPE: ClassVar[str] = "upsertImageTags"
    DEFAULT_NAME: ClassVar[str] = "Upsert Image Tags"
    NON_EMPTY: ClassVar[tuple[tuple[str, str], ...]] = (("tags", "tag"),)
    KEYS: ClassVar[tuple[_Key, ...]] = (_Key("image_names", "imageNames", "strings"), _Key("tags", "tags", "tags"))

    image_names: Sequence[str]
    tags: Mapping[str, str] = field(kw_only=True)


_TEMPLATE_CHANGES = ("image", "instance_type", "key_pair", "security_groups")


@dataclass(eq=False)
class UpdateLaunchTemplate(_InfraStage):
    """``updateLaunchTemplate``: a new launch template version for ``server_group`` with the fields given."""

    TYPE: ClassVar[str] = "updateLaunchTemplate"
    DEFAULT_NAME: ClassVar[str] = "Update Launch Template"
    REGIONS: ClassVar[str] = "optional"
    KEYS: ClassVar[tuple[_Key, ...]] = (
        _Key("server_group", "serverGroupName"),
        _Key("region", "region"),
        _optional("image", "amiName"),
        _optional("instance_type", "instanceType"),
        _optional("key_pair", "keyPair"),
        _optional("security_groups", "securityGroups", "strings"),
    )

    server_group: str
    region: str = field(kw_only=True)
    image: str | None = field(default=None, kw_only=True)
    instance_type: str | None = field(default=None, kw_only=True)
    security_groups: Sequence[str] | None = field(default=None, kw_only=True)
    key_pair: str | None = field(default=None, kw_only=True)

    def _check(self) -> None:
        if all(getattr(self, attr) is None for attr in _TEMPLATE_CHANGES):
            raise self._error("image", "give at least one of image, instance_type, security_groups, key_pair")


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
