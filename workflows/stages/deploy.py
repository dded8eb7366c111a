"""``deploy`` / ``createServerGroup`` / ``cloneServerGroup``: new server groups, then the strategy.

Tasks: decide names and images (once), create, wait for the instances to be Up. The strategy is
a set of synthetic after-stages, as Orca builds them (``RedBlackStrategy``, ``HighlanderStrategy``):

* ``redblack``: ``shrinkCluster`` to ``maxRemainingAsgs`` (when set), a ``wait`` of
  ``delayBeforeDisableSec``, ``disableCluster`` (all but the new group), then, with ``scaleDown``,
  a ``wait`` of ``delayBeforeScaleDownSec`` and ``scaleDownCluster``;
* ``highlander``: ``shrinkCluster`` to 1, active groups included: only the new group is left;
* ``custom``: a ``pipeline`` stage running the strategy ``strategyPipeline`` of ``strategyApplication``
  with Orca's parameters (application, credentials, cluster, moniker, region, cloudProvider,
  ``strategy: true``, ``clone``, ``parentPipelineId``, ``parentStageId``) plus ``pipelineParameters``;
* ``""`` / ``none``: nothing.

The new groups are excluded from every cluster operation (Orca's ``filterParentDeploys``). With
several clusters, each strategy step runs for all of them in parallel.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.fields import seconds

from ..authorization import context_accounts
from .base import JSON, StageDefinition, SyntheticStage, TaskSpec
from .rolling import rolling_failure_stages, rolling_red_black_stages

STRATEGIES = ("", "none", "redblack", "highlander", "custom", "rollingredblack")


def _clusters(context: JSON) -> list[JSON]:
    clusters = context.get("clusters")
    return [c for c in clusters if isinstance(c, dict)] if isinstance(clusters, list) else [context]


def _seconds(value: Any) -> float:
    """A delay field (:func:`core.fields.seconds`); a negative one is no delay."""
    return max(0.0, seconds(value))


def strategy_stages(context: JSON) -> list[SyntheticStage]:
    """The after-stages of every deployed cluster's strategy, step by step (a step's stages in parallel)."""
    steps: dict[int, list[SyntheticStage]] = {}
    clusters = _clusters(context)
    for item in context.get("deploy.plan") or []:
        cluster = clusters[int(item["cluster"])]
        strategy = str(cluster.get("strategy") or "").lower()
        base = {
            "cloudProvider": item["cloudProvider"],
            "credentials": item["account"],
            "regions": [item["region"]],
            "cluster": item["clusterName"],
            "excludeServerGroups": [item["serverGroupName"]],
        }
        where = f"{item['clusterName']} in {item['region']}"
        plan: list[SyntheticStage] = []
        if strategy == "redblack":
            if cluster.get("maxRemainingAsgs"):
                shrink = {"shrinkToSize": int(cluster["maxRemainingAsgs"]), "allowDeleteActive": False}
                plan.append(
                    SyntheticStage("shrinkCluster", f"shrinkCluster {where}", {**base, **shrink}, "STAGE_AFTER")
                )
            if _seconds(cluster.get("delayBeforeDisableSec")):
                wait = {"waitTime": _seconds(cluster["delayBeforeDisableSec"])}
                plan.append(SyntheticStage("wait", "waitBeforeDisable", wait, "STAGE_AFTER"))
            disable = {"remainingEnabledServerGroups": 1, "preferLargerOverNewer": False}
            plan.append(SyntheticStage("disableCluster", f"disableCluster {where}", {**base, **disable}, "STAGE_AFTER"))
            if cluster.get("scaleDown") in (True, "true"):
                if _seconds(cluster.get("delayBeforeScaleDownSec")):
                    wait = {"waitTime": _seconds(cluster["delayBeforeScaleDownSec"])}
                    plan.append(SyntheticStage("wait", "waitBeforeScaleDown", wait, "STAGE_AFTER"))
                down = {"remainingFullSizeServerGroups": 1, "allowScaleDownActive": False}
                plan.append(
                    SyntheticStage("scaleDownCluster", f"scaleDownCluster {where}", {**base, **down}, "STAGE_AFTER")
                )
        elif strategy == "rollingredblack":
            plan.extend(rolling_red_black_stages(context, item, cluster, base))
        elif strategy == "custom":
            parameters = {
                "application": cluster.get("application") or context.get("application"),
                "credentials": item["account"],
                "cluster": item["clusterName"],
                "moniker": cluster.get("moniker")
                or {"app": cluster.get("application"), "cluster": item["clusterName"]},
                "region": item["region"],
                "cloudProvider": item["cloudProvider"],
                "strategy": True,
                "clone": context.get("type") == "cloneServerGroup",
                "parentPipelineId": item.get("executionId"),
                "parentStageId": item.get("stageId"),
                **(cluster.get("pipelineParameters") or {}),
            }
            run = {
                "application": cluster.get("strategyApplication"),
                "pipelineApplication": cluster.get("strategyApplication"),
                "pipeline": cluster.get("strategyPipeline"),
                "pipelineId": cluster.get("strategyPipeline"),
                "pipelineParameters": parameters,
                "waitForCompletion": True,
            }
            plan.append(SyntheticStage("pipeline", f"strategy {where}", run, "STAGE_AFTER"))
        elif strategy == "highlander":
            shrink = {"shrinkToSize": 1, "allowDeleteActive": True, "retainLargerOverNewer": False}
            plan.append(SyntheticStage("shrinkCluster", f"shrinkCluster {where}", {**base, **shrink}, "STAGE_AFTER"))
        for step, stage in enumerate(plan):
            steps.setdefault(step, []).append(stage)
    out: list[SyntheticStage] = []
    for step in sorted(steps):
        for stage in steps[step]:
            stage.parallel_group = f"strategy-step-{step}"
            out.append(stage)
    return out


class DeployStage(StageDefinition):
    #: what a deploy decided and did; a restart forgets it, so the restarted stage plans the next version
    RESTART_FORGETS = ("deploy.plan", "deploy.server.groups", "waitingFor")

    type = "deploy"
    aliases = ("createServerGroup", "cloneServerGroup")

    def tasks(self, context: JSON) -> list[TaskSpec]:
        # Orca's WaitForUpInstancesTask gives up after 2 hours; waitForUpInstancesTimeoutMinutes is ours
        wait_minutes = _seconds(context.get("waitForUpInstancesTimeoutMinutes")) or 120
        return [
            TaskSpec(
                "determineServerGroupNames",
                "com.netflix.spinnaker.orca.clouddriver.tasks.servergroup.DetermineServerGroupNamesTask",
                activity="deploy_choose_names",
                needs_ancestors=True,
            ),
            TaskSpec(
                "createServerGroup",
                "com.netflix.spinnaker.orca.clouddriver.tasks.servergroup.CreateServerGroupTask",
                activity="deploy_create_server_groups",
                start_to_close=timedelta(minutes=10),
                on_cancel="deploy_cancel",
            ),
            TaskSpec(
                "waitForUpInstances",
                "com.netflix.spinnaker.orca.clouddriver.tasks.instance.WaitForUpInstancesTask",
                activity="deploy_wait_for_up_instances",
                polling=True,
                backoff=timedelta(seconds=10),
                timeout=timedelta(minutes=wait_minutes),
            ),
        ]

    def prepare_for_restart(self, context: JSON) -> None:
        for key in self.RESTART_FORGETS:
            context.pop(key, None)

    def mutates_accounts(self, context: JSON) -> list[str]:
        """Every cluster's account (``account`` or ``credentials``), and the stage's own."""
        return deploy_accounts(context)

    def after_stages(self, context: JSON) -> list[SyntheticStage]:
        return strategy_stages(context)

    def on_failure_stages(self, context: JSON) -> list[SyntheticStage]:
        return rollback_stages(context)


def deploy_accounts(context: JSON) -> list[str]:
    out: list[str] = []
    for item in [context, *_clusters(context)]:
        for account in context_accounts(item):
            if account not in out:
                out.append(account)
    return out


def rollback_stages(context: JSON) -> list[SyntheticStage]:
    """``rollback.onFailure``: every group this deploy created is rolled back to the cluster's previous
    group (enabled, sized, Up), as Orca's deploy does when its strategy fails."""
    clusters = _clusters(context)
    created = {name for names in (context.get("deploy.server.groups") or {}).values() for name in names}
    out: list[SyntheticStage] = []
    for item in context.get("deploy.plan") or []:
        rollback = clusters[int(item["cluster"])].get("rollback")
        if not (isinstance(rollback, dict) and rollback.get("onFailure") in (True, "true")):
            continue
        if item["serverGroupName"] not in created:
            continue  # nothing was created: nothing to roll back
        out.append(
            SyntheticStage(
                "rollbackServerGroup",
                f"rollback {item['serverGroupName']}",
                {
                    "rollbackType": "EXPLICIT",
                    "stageTimeoutMs": 30 * 60 * 1000,  # Orca timeboxes a deploy's rollback to 30 minutes
                    "cloudProvider": item["cloudProvider"],
                    "credentials": item["account"],
                    "regions": [item["region"]],
                    "rollbackContext": {
                        "rollbackServerGroupName": item["serverGroupName"],
                        # the group this deploy replaced, when there was one (else the one before it)
                        **(
                            {"restoreServerGroupName": item["source"]["serverGroupName"]}
                            if isinstance(item.get("source"), dict)
                            else {}
                        ),
                    },
                },
                "STAGE_AFTER",
            )
        )
        if str(clusters[int(item["cluster"])].get("strategy") or "").lower() == "rollingredblack":
            out.extend(rolling_failure_stages(item))  # after the rollback, as Orca orders them
    return out
