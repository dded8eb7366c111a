"""Typed builders for the server-group stages (Clouddriver's), writing the JSON Deck writes.

    from gennaker.pipelines import Cluster, Deploy, FindImageFromTags, Pipeline, RedBlack, ResizeServerGroup

    cluster = Cluster("myapp", "prod", account="prod", regions={"us-east-1": ["us-east-1a"]},
                      capacity=(2, 4, 2), target_groups=["myapp-web"], strategy=RedBlack(scale_down=True))
    Pipeline("release", application="myapp", stages=[
        FindImageFromTags("myapp", {"appversion": "1.0.0"}, regions=["us-east-1"]),
        Deploy([cluster]),
        ResizeServerGroup("myapp-prod", account="prod", regions=["us-east-1"], scale_num=1),
    ])

See docs/deploy.md for what each stage does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from core import fields

from .checks import JSON, PipelineBuildError, _fail, _flag, _jsonable, _strings, _text
from .core_stages import Precondition
from .stage import Stage

TARGETS = ("current_asg_dynamic", "ancestor_asg_dynamic", "oldest_asg_dynamic")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def _count(value: Any, where: str, *, minimum: int = 0) -> int:
    """A count as the engine reads one (:func:`core.fields.integer`: ``3``, ``3.0``, ``"3"``), at least ``minimum``."""
    count = fields.integer(value)
    if count is None or count < minimum:
        raise _fail(where, f"must be a whole number >= {minimum}, got {value!r}")
    return count


def _capacity(value: Any, where: str) -> JSON:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value, value)
    if isinstance(value, Mapping):
        value = (value.get("min"), value.get("max"), value.get("desired"))
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise _fail(where, f"must be (min, max, desired), a dict or one number, got {value!r}")
    low, high, desired = (_count(v, f"{where}[{i}]") for i, v in enumerate(value))
    if not low <= desired <= high:
        raise _fail(where, f"needs min <= desired <= max, got {value!r}")
    return {"min": low, "max": high, "desired": desired}


# ---- strategies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedBlack:
    """Disable the cluster's other groups once the new one is Up; optionally shrink to ``max_remaining``
    groups and scale the disabled ones down, after the given delays; roll back when the deploy fails."""

    max_remaining: int | None = None
    scale_down: bool = False
    delay_before_disable: timedelta | None = None
    delay_before_scale_down: timedelta | None = None
    rollback_on_failure: bool = False

    def to_json(self, where: str) -> JSON:
        out: JSON = {"strategy": "redblack", "scaleDown": _flag(self.scale_down, f"{where}.scale_down")}
        if self.max_remaining is not None:
            out["maxRemainingAsgs"] = _count(self.max_remaining, f"{where}.max_remaining", minimum=1)
        for attr, key in (
            ("delay_before_disable", "delayBeforeDisableSec"),
            ("delay_before_scale_down", "delayBeforeScaleDownSec"),
        ):
            delay = getattr(self, attr)
            if delay is not None:
                if not isinstance(delay, timedelta) or delay < timedelta():
                    raise _fail(f"{where}.{attr}", f"must be a timedelta >= 0, got {delay!r}")
                out[key] = int(delay.total_seconds())
        if self.rollback_on_failure:
            out["rollback"] = {"onFailure": True}
        return out


@dataclass(frozen=True)
class RollingRedBlack:
    """Grow the new group to each of ``percentages`` of the old one's size (100 last), running ``validation``
    (a pipeline: ``{"application", "pipelineId", "pipelineParameters"}``) after each step, then disable the old
    group; optionally scale it down, shrink to ``max_remaining`` groups, roll back when a step fails."""

    percentages: Sequence[int] = (100,)
    scale_down: bool = False
    delay_before_cleanup: timedelta | None = None
    delay_before_scale_down: timedelta | None = None
    validation: Mapping[str, Any] | None = None
    max_remaining: int | None = None
    rollback_on_failure: bool = False

    def to_json(self, where: str) -> JSON:
        steps = list(self.percentages)
        if not steps or any(isinstance(p, bool) or not isinstance(p, int) or not 0 < p <= 100 for p in steps):
            raise _fail(f"{where}.percentages", f"must be whole percentages in 1..100, got {self.percentages!r}")
        if steps != sorted(steps):
            raise _fail(f"{where}.percentages", f"must grow step by step, got {steps!r}")
        out: JSON = {
            "strategy": "rollingredblack",
            "targetPercentages": steps,
            "scaleDown": _flag(self.scale_down, f"{where}.scale_down"),
        }
        for attr, key in (
            ("delay_before_cleanup", "delayBeforeCleanup"),
            ("delay_before_scale_down", "delayBeforeScaleDown"),
        ):
            delay = getattr(self, attr)
            if delay is not None:
                if not isinstance(delay, timedelta) or delay < timedelta():
                    raise _fail(f"{where}.{attr}", f"must be a timedelta >= 0, got {delay!r}")
                out[key] = int(delay.total_seconds())
        if self.validation is not None:
            check = _jsonable(dict(self.validation), f"{where}.validation")
            if not (check.get("application") and check.get("pipelineId")):
                raise _fail(f"{where}.validation", "needs application and pipelineId")
            out["pipelineBeforeCleanup"] = check
        if self.max_remaining is not None:
            out["maxRemainingAsgs"] = _count(self.max_remaining, f"{where}.max_remaining", minimum=1)
        if self.rollback_on_failure:
            out["rollback"] = {"onFailure": True}
        return out


@dataclass(frozen=True)
class Highlander:
    """Destroy every other group of the cluster once the new one is Up."""

    def to_json(self, where: str) -> JSON:
        return {"strategy": "highlander"}


@dataclass(frozen=True)
class CustomStrategy:
    """Run the strategy pipeline ``pipeline`` (an id) of ``application`` after the deploy, with ``parameters``."""

    application: str
    pipeline: str
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, where: str) -> JSON:
        return {
            "strategy": "custom",
            "strategyApplication": _text(self.application, f"{where}.application"),
            "strategyPipeline": _text(self.pipeline, f"{where}.pipeline"),
            "pipelineParameters": _jsonable(dict(self.parameters), f"{where}.parameters"),
        }


Strategy = RedBlack | RollingRedBlack | Highlander | CustomStrategy


@dataclass(frozen=True)
class Cluster:
    """Where and what to deploy: ``application-stack-detail`` in ``account``, per region (a list, or
    ``{region: [zones]}``), with ``capacity`` as ``(min, max, desired)``."""

    application: str
    stack: str = ""
    detail: str = ""
    account: str = ""
    regions: Sequence[str] | Mapping[str, Sequence[str]] = ()
    capacity: Any = (1, 1, 1)
    cloud_provider: str = "aws"
    instance_type: str | None = None
    image_id: str | None = None
    load_balancers: Sequence[str] = ()
    target_groups: Sequence[str] = ()
    security_groups: Sequence[str] = ()
    subnet_type: str | None = None
    strategy: Strategy | None = None
    source: Mapping[str, str] | None = None
    use_source_capacity: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, where: str) -> JSON:
        out: JSON = {
            "application": _text(self.application, f"{where}.application"),
            "stack": self.stack or "",
            "freeFormDetails": self.detail or "",
            "account": _text(self.account, f"{where}.account"),
            "cloudProvider": _text(self.cloud_provider, f"{where}.cloud_provider"),
            "capacity": _capacity(self.capacity, f"{where}.capacity"),
        }
        if isinstance(self.regions, Mapping):
            if not self.regions:
                raise _fail(f"{where}.regions", "needs at least one region")
            out["availabilityZones"] = {
                _text(r, f"{where}.regions"): _strings(z, f"{where}.regions[{r}]") for r, z in self.regions.items()
            }
        else:
            regions = _strings(self.regions, f"{where}.regions")
            if not regions:
                raise _fail(f"{where}.regions", "needs at least one region")
            out["availabilityZones"] = {r: [] for r in regions}
        for attr, key in (("instance_type", "instanceType"), ("image_id", "imageId"), ("subnet_type", "subnetType")):
            if getattr(self, attr) is not None:
                out[key] = _text(getattr(self, attr), f"{where}.{attr}")
        for attr, key in (
            ("load_balancers", "loadBalancers"),
            ("target_groups", "targetGroups"),
            ("security_groups", "securityGroups"),
        ):
            values = _strings(getattr(self, attr), f"{where}.{attr}")
            if values:
                out[key] = values
        if self.strategy is not None:
            if not isinstance(self.strategy, (RedBlack, RollingRedBlack, Highlander, CustomStrategy)):
                raise _fail(
                    f"{where}.strategy",
                    f"must be RedBlack(), RollingRedBlack(), Highlander() or CustomStrategy(), got {self.strategy!r}",
                )
            out.update(self.strategy.to_json(f"{where}.strategy"))
        if self.source is not None:
            out["source"] = _jsonable(dict(self.source), f"{where}.source")
            out["useSourceCapacity"] = _flag(self.use_source_capacity, f"{where}.use_source_capacity")
        out.update(_jsonable(dict(self.extra), f"{where}.extra"))
        return out


# ---- deploying ------------------------------------------------------------------------------------


@dataclass(eq=False)
class Deploy(Stage):
    """``deploy``: a new server group per cluster and region, then each cluster's strategy."""

    TYPE: ClassVar[str] = "deploy"
    DEFAULT_NAME: ClassVar[str] = "Deploy"

    clusters: Sequence[Cluster]

    def _fields(self) -> JSON:
        items = list(self.clusters) if isinstance(self.clusters, Sequence) else []
        if not items or not all(isinstance(c, Cluster) for c in items):
            raise self._error("clusters", f"must be a non-empty list of Cluster, got {self.clusters!r}")
        return {"clusters": [c.to_json(self._where(f"clusters[{i}]")) for i, c in enumerate(items)]}


@dataclass(eq=False)
class CreateServerGroup(Stage):
    """``createServerGroup``: one cluster, its fields inline (as Deck writes it)."""

    TYPE: ClassVar[str] = "createServerGroup"
    DEFAULT_NAME: ClassVar[str] = "Create Server Group"

    cluster: Cluster

    def _fields(self) -> JSON:
        if not isinstance(self.cluster, Cluster):
            raise self._error("cluster", f"must be a Cluster, got {self.cluster!r}")
        return self.cluster.to_json(self._where("cluster"))


@dataclass(eq=False)
class CloneServerGroup(CreateServerGroup):
    """``cloneServerGroup``: like :class:`CreateServerGroup`, taking what the cluster leaves out from its ``source``."""

    TYPE: ClassVar[str] = "cloneServerGroup"
    DEFAULT_NAME: ClassVar[str] = "Clone Server Group"


# ---- one group, one cluster -----------------------------------------------------------------------


@dataclass(eq=False)
class _Targeted(Stage):
    cluster: str
    account: str = field(kw_only=True)
    regions: Sequence[str] = field(kw_only=True)
    target: str = field(default="current_asg_dynamic", kw_only=True)
    server_group: str | None = field(default=None, kw_only=True)
    cloud_provider: str = field(default="aws", kw_only=True)

    def _where_fields(self) -> JSON:
        regions = _strings(self.regions, self._where("regions"))
        if not regions:
            raise self._error("regions", "needs at least one region")
        return {
            "cluster": _text(self.cluster, self._where("cluster")),
            "credentials": _text(self.account, self._where("account")),
            "regions": regions,
            "cloudProvider": _text(self.cloud_provider, self._where("cloud_provider")),
        }

    def _fields(self) -> JSON:
        out = self._where_fields()
        if self.server_group is not None:
            out["serverGroupName"] = _text(self.server_group, self._where("server_group"))
        elif self.target not in TARGETS:
            raise self._error("target", f"must be one of {list(TARGETS)}, got {self.target!r}")
        else:
            out["target"] = self.target
        return out


@dataclass(eq=False)
class DisableServerGroup(_Targeted):
    TYPE: ClassVar[str] = "disableServerGroup"
    DEFAULT_NAME: ClassVar[str] = "Disable Server Group"


@dataclass(eq=False)
class EnableServerGroup(_Targeted):
    TYPE: ClassVar[str] = "enableServerGroup"
    DEFAULT_NAME: ClassVar[str] = "Enable Server Group"


@dataclass(eq=False)
class DestroyServerGroup(_Targeted):
    TYPE: ClassVar[str] = "destroyServerGroup"
    DEFAULT_NAME: ClassVar[str] = "Destroy Server Group"


@dataclass(eq=False)
class ResizeServerGroup(_Targeted):
    """``resizeServerGroup``: ``capacity`` exactly, or up/down by ``scale_num`` or ``scale_pct``
    (``down=True``), or ``to_cluster`` (the cluster's largest)."""

    TYPE: ClassVar[str] = "resizeServerGroup"
    DEFAULT_NAME: ClassVar[str] = "Resize Server Group"

    capacity: Any = field(default=None, kw_only=True)
    scale_num: int | None = field(default=None, kw_only=True)
    scale_pct: int | None = field(default=None, kw_only=True)
    down: bool = field(default=False, kw_only=True)
    to_cluster: bool = field(default=False, kw_only=True)

    def _fields(self) -> JSON:
        out = super()._fields()
        given = [self.capacity is not None, self.scale_num is not None, self.scale_pct is not None, self.to_cluster]
        if sum(given) != 1:
            raise self._error("capacity", "give exactly one of capacity, scale_num, scale_pct or to_cluster")
        if self.capacity is not None:
            out.update(action="scale_exact", capacity=_capacity(self.capacity, self._where("capacity")))
        elif self.to_cluster:
            out["action"] = "scale_to_cluster"
        else:
            out["action"] = "scale_down" if self.down else "scale_up"
            if self.scale_num is not None:
                out["scaleNum"] = _count(self.scale_num, self._where("scale_num"))
            else:
                out["scalePct"] = _count(self.scale_pct, self._where("scale_pct"))
        return out


@dataclass(eq=False)
class DisableCluster(_Targeted):
    """``disableCluster``: disable all but the newest ``remaining`` enabled groups."""

    TYPE: ClassVar[str] = "disableCluster"
    DEFAULT_NAME: ClassVar[str] = "Disable Cluster"

    remaining: int = field(default=1, kw_only=True)

    def _fields(self) -> JSON:
        return {
            **self._where_fields(),
            "remainingEnabledServerGroups": _count(self.remaining, self._where("remaining")),
        }


@dataclass(eq=False)
class ShrinkCluster(_Targeted):
    """``shrinkCluster``: destroy all but ``shrink_to`` groups (active ones only with ``allow_delete_active``)."""

    TYPE: ClassVar[str] = "shrinkCluster"
    DEFAULT_NAME: ClassVar[str] = "Shrink Cluster"

    shrink_to: int = field(default=1, kw_only=True)
    allow_delete_active: bool = field(default=False, kw_only=True)

    def _fields(self) -> JSON:
        return {
            **self._where_fields(),
            "shrinkToSize": _count(self.shrink_to, self._where("shrink_to")),
            "allowDeleteActive": _flag(self.allow_delete_active, self._where("allow_delete_active")),
        }


@dataclass(eq=False)
class ScaleDownCluster(_Targeted):
    """``scaleDownCluster``: scale all but ``remaining`` groups to zero (active ones only when allowed)."""

    TYPE: ClassVar[str] = "scaleDownCluster"
    DEFAULT_NAME: ClassVar[str] = "Scale Down Cluster"

    remaining: int = field(default=1, kw_only=True)
    allow_scale_down_active: bool = field(default=False, kw_only=True)

    def _fields(self) -> JSON:
        return {
            **self._where_fields(),
            "remainingFullSizeServerGroups": _count(self.remaining, self._where("remaining")),
            "allowScaleDownActive": _flag(self.allow_scale_down_active, self._where("allow_scale_down_active")),
        }


@dataclass(eq=False)
class RollbackServerGroup(Stage):
    """``rollbackServerGroup``. ``EXPLICIT`` (the default): bring ``restore`` back (default: the group before
    ``rollback``) and disable ``rollback``. ``PREVIOUS_IMAGE``: deploy ``rollback``'s cluster again, cloned from it,
    with ``image_name`` (or ``image_id``; on AWS, by default, the image of its launch template's previous version),
    and disable the rest of the cluster."""

    TYPE: ClassVar[str] = "rollbackServerGroup"
    DEFAULT_NAME: ClassVar[str] = "Rollback Server Group"
    ROLLBACK_TYPES: ClassVar[tuple[str, ...]] = ("EXPLICIT", "PREVIOUS_IMAGE")

    rollback: str
    account: str = field(kw_only=True)
    region: str = field(kw_only=True)
    restore: str | None = field(default=None, kw_only=True)
    cloud_provider: str = field(default="aws", kw_only=True)
    rollback_type: str = field(default="EXPLICIT", kw_only=True)
    image_name: str | None = field(default=None, kw_only=True)
    image_id: str | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        if self.rollback_type not in self.ROLLBACK_TYPES:
            raise self._error(
                "rollback_type", f"must be one of {list(self.ROLLBACK_TYPES)}, got {self.rollback_type!r}"
            )
        context: JSON = {"rollbackServerGroupName": _text(self.rollback, self._where("rollback"))}
        if self.restore is not None:
            if self.rollback_type != "EXPLICIT":
                raise self._error("restore", "only an EXPLICIT rollback restores a named group")
            context["restoreServerGroupName"] = _text(self.restore, self._where("restore"))
        for attr, key in (("image_name", "imageName"), ("image_id", "imageId")):
            value = getattr(self, attr)
            if value is not None:
                if self.rollback_type != "PREVIOUS_IMAGE":
                    raise self._error(attr, "only a PREVIOUS_IMAGE rollback takes an image")
                context[key] = _text(value, self._where(attr))
        return {
            "rollbackType": self.rollback_type,
            "credentials": _text(self.account, self._where("account")),
            "regions": [_text(self.region, self._where("region"))],
            "cloudProvider": _text(self.cloud_provider, self._where("cloud_provider")),
            "rollbackContext": context,
        }


@dataclass(eq=False)
class RollbackCluster(Stage):
    """``rollbackCluster``: per region, roll ``cluster`` back from its newest enabled group to the group before it
    (``only_enabled``: the newest other enabled one), waiting ``wait_between_regions`` between regions."""

    TYPE: ClassVar[str] = "rollbackCluster"
    DEFAULT_NAME: ClassVar[str] = "Rollback Cluster"

    cluster: str
    account: str = field(kw_only=True)
    regions: Sequence[str] = field(kw_only=True)
    cloud_provider: str = field(default="aws", kw_only=True)
    target_healthy_percentage: int | None = field(default=None, kw_only=True)
    wait_between_regions: timedelta | None = field(default=None, kw_only=True)
    only_enabled: bool = field(default=False, kw_only=True)

    def _fields(self) -> JSON:
        cluster = str(_text(self.cluster, self._where("cluster")))
        regions = _strings(self.regions, self._where("regions"))
        if not regions:
            raise self._error("regions", "needs at least one region")
        app, _, rest = cluster.partition("-")
        stack, _, detail = rest.partition("-")
        moniker: JSON = {"app": app, "cluster": cluster, **({"stack": stack} if stack else {})}
        if detail:
            moniker["detail"] = detail
        out: JSON = {
            "cloudProvider": _text(self.cloud_provider, self._where("cloud_provider")),
            "credentials": _text(self.account, self._where("account")),
            "moniker": moniker,
            "regions": regions,
        }
        if self.target_healthy_percentage is not None:
            pct = _count(self.target_healthy_percentage, self._where("target_healthy_percentage"))
            if pct > 100:
                raise self._error("target_healthy_percentage", f"must be 0..100, got {pct}")
            out["targetHealthyRollbackPercentage"] = pct
        if self.wait_between_regions is not None:
            wait = self.wait_between_regions
            if not isinstance(wait, timedelta) or wait < timedelta():
                raise self._error("wait_between_regions", f"must be a timedelta >= 0, got {wait!r}")
            out["waitTimeBetweenRegions"] = int(wait.total_seconds())
        if self.only_enabled:
            out["additionalRollbackContext"] = {"onlyEnabledServerGroups": True}
        return out


# ---- images -----------------------------------------------------------------------------------------


@dataclass(eq=False)
class FindImageFromTags(Stage):
    """``findImageFromTags``: the newest image of ``package`` carrying ``tags``, per region."""

    TYPE: ClassVar[str] = "findImageFromTags"
    DEFAULT_NAME: ClassVar[str] = "Find Image from Tags"

    package: str
    tags: Mapping[str, str] = field(default_factory=dict)
    regions: Sequence[str] = field(default=(), kw_only=True)
    account: str | None = field(default=None, kw_only=True)
    cloud_provider: str = field(default="aws", kw_only=True)

    def _fields(self) -> JSON:
        regions = _strings(self.regions, self._where("regions"))
        if not regions:
            raise self._error("regions", "needs at least one region")
        out: JSON = {
            "packageName": _text(self.package, self._where("package")),
            "tags": _jsonable(dict(self.tags), self._where("tags")),
            "regions": regions,
            "cloudProvider": _text(self.cloud_provider, self._where("cloud_provider")),
        }
        if self.account is not None:
            out["credentials"] = _text(self.account, self._where("account"))
        return out


@dataclass(eq=False)
class FindImage(_Targeted):
    """``findImage``: the image the cluster's newest (enabled) group runs, per region."""

    TYPE: ClassVar[str] = "findImage"
    DEFAULT_NAME: ClassVar[str] = "Find Image from Cluster"

    only_enabled: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        return {
            **self._where_fields(),
            "onlyEnabled": _flag(self.only_enabled, self._where("only_enabled")),
            "selectionStrategy": "NEWEST",
        }


@dataclass(eq=False)
class FindAmi(FindImage):
    """``findAmi``: the legacy name of :class:`FindImage`."""

    TYPE: ClassVar[str] = "findAmi"


@dataclass(frozen=True)
class ClusterSizePrecondition(Precondition):
    """Passes when ``cluster`` has ``expected`` server groups (by ``comparison``) in each region."""

    type: str = field(default="clusterSize", init=False)
    context: Mapping[str, Any] = field(default_factory=dict, init=False, repr=False)
    cluster: str = ""
    account: str = ""
    regions: Sequence[str] = ()
    expected: int = 1
    comparison: str = "=="
    only_enabled: bool = False
    cloud_provider: str = "aws"
    fail_pipeline: bool | None = field(default=None, kw_only=True)

    def _context(self, where: str) -> JSON:
        if self.comparison not in COMPARISONS:
            raise _fail(f"{where}.comparison", f"must be one of {list(COMPARISONS)}, got {self.comparison!r}")
        return {
            "cluster": _text(self.cluster, f"{where}.cluster"),
            "credentials": _text(self.account, f"{where}.account"),
            "regions": _strings(self.regions, f"{where}.regions"),
            "expected": _count(self.expected, f"{where}.expected"),
            "comparison": self.comparison,
            "onlyEnabledServerGroups": _flag(self.only_enabled, f"{where}.only_enabled"),
            "cloudProvider": _text(self.cloud_provider, f"{where}.cloud_provider"),
        }


__all__ = [
    "ClusterSizePrecondition",
    "CloneServerGroup",
    "Cluster",
    "CreateServerGroup",
    "CustomStrategy",
    "Deploy",
    "DestroyServerGroup",
    "DisableCluster",
    "DisableServerGroup",
    "EnableServerGroup",
    "FindAmi",
    "FindImage",
    "FindImageFromTags",
    "Highlander",
    "PipelineBuildError",
    "RedBlack",
    "RollingRedBlack",
    "ResizeServerGroup",
    "RollbackServerGroup",
    "ScaleDownCluster",
    "ShrinkCluster",
]
