"""``rollingredblack``: the new group starts empty and grows to each of ``targetPercentages`` of the group it
replaces, as Orca's ``RollingRedBlackStrategy`` builds it, plus the ``pinServerGroup`` stage that strategy uses.

After-stages, per deployed cluster and region (Orca's names):

* ``Pin <source>``: the source's min raised to its desired size, so it cannot shrink meanwhile;
* per percentage ``p``: ``Grow to p% of Desired Size`` (a ``resizeServerGroup`` of the new group to ``p``%
  of the source's capacity, pinned below 100, the source's own min at 100, waiting for its instances),
  then ``wait`` (``delayBeforeCleanup``) and ``Run Validation Pipeline`` (``pipelineBeforeCleanup``), then
  ``Disable p% of Traffic on <source>`` (``disableServerGroup`` with ``desiredPercentage``: that share of the
  source's instances leaves its load balancers; whole at 100);
* ``scaleDown``: ``Wait Before Scale Down`` (``delayBeforeScaleDown``) and ``scaleDownCluster``; without it
  ``Unpin <source>`` (its min back to what it was);
* ``maxRemainingAsgs``: a ``shrinkCluster`` first, as redblack does (Orca's rolling strategy ignores it).

With no source group (a first deploy), the new group grows to ``p``% of the configured capacity and
nothing else is touched.
"""

from __future__ import annotations

import math
from datetime import timedelta

from core.fields import number
from core.tasks import target_percentages

from .base import JSON, StageDefinition, SyntheticStage, TaskSpec

ORCA = "com.netflix.spinnaker.orca.clouddriver.tasks.servergroup."


def grown_desired(source_desired: int, pct: int) -> int:
    """The new group's desired size at ``pct`` of the source's: Orca's ``scalePct`` rounds up."""
    return math.ceil(source_desired * pct / 100)


def _seconds(cluster: JSON, *keys: str) -> float:
    """The first positive delay among ``keys`` (Deck's name, then Orca's): :func:`core.fields.number`;
    an unset one is skipped, one that is not a number is an error."""
    for key in keys:
        raw = cluster.get(key)
        if not raw:  # unset, blank or 0
            continue
        value = number(raw)
        if value is None:
            raise ValueError(f"{key}: must be a number of seconds")
        if value > 0:
            return value
    return 0.0


def rolling_red_black_stages(context: JSON, item: JSON, cluster: JSON, base: JSON) -> list[SyntheticStage]:
    """The after-stages of one deployed cluster in one region (``item`` is its ``deploy.plan`` entry)."""
    new = str(item["serverGroupName"])
    source = item.get("source") if isinstance(item.get("source"), dict) else None
    where = {k: base[k] for k in ("cloudProvider", "credentials", "regions", "cluster")}
    stages: list[SyntheticStage] = []

    def add(kind: str, name: str, ctx: JSON) -> None:
        stages.append(SyntheticStage(kind, name, ctx, "STAGE_AFTER"))

    if cluster.get("maxRemainingAsgs"):
        shrink = {"shrinkToSize": int(cluster["maxRemainingAsgs"]), "allowDeleteActive": False}
        add("shrinkCluster", f"shrinkCluster {item['clusterName']} in {item['region']}", {**base, **shrink})
    src_name = str(source["serverGroupName"]) if source else None
    src_ref: JSON = {}
    original: JSON = {}
    if source:
        src_ref = {
            "serverGroupName": src_name,
            "region": item["region"],
            "credentials": item["account"],
            "cloudProvider": item["cloudProvider"],
        }
        original = {f"originalCapacity.{src_name}": source["capacity"]}
        pin = {"serverGroupName": src_name, "action": "scale_to_server_group", "source": src_ref}
        add("pinServerGroup", f"Pin {src_name}", {**where, **pin, **original, "pinMinimumCapacity": True})
    before = (cluster.get("pipelineBeforeCleanup") or {}) if isinstance(cluster, dict) else {}
    for pct in target_percentages(cluster):
        grow: JSON = {
            **where,
            "serverGroupName": new,
            "scalePct": pct,
            "pinCapacity": pct < 100,
            "pinMinimumCapacity": pct < 100,
            "unpinMinimumCapacity": pct == 100,
            "useNameAsLabel": True,
        }
        health = cluster.get("interestingHealthProviderNames", context.get("interestingHealthProviderNames"))
        if health is not None:  # Orca's grow stages read it from the deploy's context
            grow["interestingHealthProviderNames"] = health
        if context.get("targetHealthyDeployPercentage") is not None:
            grow["targetHealthyDeployPercentage"] = context["targetHealthyDeployPercentage"]
        if source:
            grow.update({"action": "scale_to_server_group", "source": src_ref, **original})
        else:
            saved = item.get("savedCapacity")
            grow.update({"action": "scale_exact", "capacity": saved, "savedCapacity": saved})
        add("resizeServerGroup", f"Grow to {pct}% of Desired Size", grow)
        delay = _seconds(cluster, "delayBeforeCleanup", "delayBeforeDisableSec")
        if delay:
            add("wait", "wait", {"waitTime": delay})
        if isinstance(before, dict) and before.get("application") and before.get("pipelineId"):
            coordinates = {"region": item["region"], "account": item["account"], "cloudProvider": item["cloudProvider"]}
            parameters = {
                **(before.get("pipelineParameters") or {}),
                "deployedServerGroup": {**coordinates, "serverGroupName": new},
                "sourceServerGroup": {**coordinates, "serverGroupName": src_name},
                "percentageComplete": pct,
            }
            run = {
                "application": before["application"],
                "pipelineApplication": before["application"],
                "pipeline": before["pipelineId"],
                "pipelineId": before["pipelineId"],
                "pipelineParameters": parameters,
                "waitForCompletion": True,
            }
            add("pipeline", "Run Validation Pipeline", run)
        if source:  # below 100 a share of its instances (where the cloud can: docs/deploy.md), at 100 all
            disable = {**where, "serverGroupName": src_name, "desiredPercentage": pct}
            add("disableServerGroup", f"Disable {pct}% of Traffic on {src_name}", disable)
    if source and cluster.get("scaleDown") in (True, "true"):
        delay = _seconds(cluster, "delayBeforeScaleDown", "delayBeforeScaleDownSec")
        if delay:
            add("wait", "Wait Before Scale Down", {"waitTime": delay})
        down = {"allowScaleDownActive": False, "remainingFullSizeServerGroups": 1, "preferLargerOverNewer": False}
        add("scaleDownCluster", "scaleDown", {**base, **down})
    elif source:
        unpin = {"serverGroupName": src_name, "action": "scale_to_server_group", "source": src_ref}
        add("pinServerGroup", f"Unpin {src_name}", {**where, **unpin, **original, "unpinMinimumCapacity": True})
    return stages


def rolling_failure_stages(item: JSON) -> list[SyntheticStage]:
    """Orca's rolling on-failure stage: the source's min back to what it was (``Unpin <source>``)."""
    source = item.get("source")
    if not isinstance(source, dict):
        return []
    name = str(source["serverGroupName"])
    ctx: JSON = {
        "cloudProvider": item["cloudProvider"],
        "credentials": item["account"],
        "regions": [item["region"]],
        "cluster": item["clusterName"],
        "serverGroupName": name,
        "action": "scale_to_server_group",
        "source": {"serverGroupName": name, "region": item["region"], "credentials": item["account"]},
        f"originalCapacity.{name}": source["capacity"],
        "unpinMinimumCapacity": True,
        "stageTimeoutMs": int(timedelta(minutes=20).total_seconds() * 1000),
    }
    return [SyntheticStage("pinServerGroup", f"Unpin {name}", ctx, "STAGE_AFTER")]


class PinServerGroupStage(StageDefinition):
    """``pinServerGroup``: set a group's min/max/desired (Orca's pinning flags) without waiting for instances;
    the rolling red/black strategy pins its source so it cannot shrink while the new group grows."""

    type = "pinServerGroup"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "determineTargetServerGroup",
                ORCA + "DetermineTargetServerGroupTask",
                activity="server_group_determine_target",
            ),
            TaskSpec(
                "resizeServerGroup",
                ORCA + "ResizeServerGroupTask",
                activity="server_group_resize",
            ),
        ]


__all__ = ["PinServerGroupStage", "grown_desired", "rolling_red_black_stages", "target_percentages"]
