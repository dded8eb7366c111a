"""kayentaCanary's ``deployments``, as Orca's deployCanaryServerGroups / cleanupCanaryClusters plan them, flattened
into the kayentaCanary's own synthetic stages (the engine runs one level of them):

* before the intervals: ``findImage`` "Find Baseline Image" (the baseline cluster's newest enabled image), then per
  server-group pair a ``deployCanaryServerGroups`` stage for the control (with the baseline's image) and one for the
  experiment (the image an upstream bake or find produced), all in parallel; their tasks are the deploy stage's;
* after the analysis (also when its decision fails): ``disableCluster`` on every canary cluster (a failure there
  does not stop the cleanup), a ``wait`` of ``delayBeforeCleanup``, then ``shrinkCluster`` to 0, active groups too.

``canary_scopes`` turns the deployed groups into the scopes each interval analyses (Orca's
PropagateDeployedServerGroupScopes).
"""

from __future__ import annotations

from canary import stage_plan as plan

from .base import JSON, StageDefinition, SyntheticStage, TaskResult, TaskRuntime, TaskSpec
from .deploy import DeployStage, deploy_accounts

ROLES = ("control", "experiment")


def pairs(context: JSON) -> list[JSON]:
    deployments = context.get("deployments")
    if not isinstance(deployments, dict):
        return []
    return [p for p in deployments.get("serverGroupPairs") or [] if isinstance(p, dict)]


def _regions(group: JSON) -> list[str]:
    zones = group.get("availabilityZones")
    if isinstance(zones, dict) and zones:
        return [str(r) for r in zones]
    regions = group.get("regions") or ([group["region"]] if group.get("region") else [])
    return [str(r) for r in regions]


def cluster_name(group: JSON) -> str:
    """Frigga's cluster name: application[-stack[-detail]]."""
    parts = [
        str(group.get("application") or ""),
        str(group.get("stack") or ""),
        str(group.get("freeFormDetails") or ""),
    ]
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return "-".join(parts)


def deploy_stages(context: JSON) -> list[SyntheticStage]:
    found = pairs(context)
    if not found:
        return []
    baseline = (context.get("deployments") or {}).get("baseline") or {}
    regions = sorted({r for p in found for r in _regions(p.get("control") or {})})
    out = [
        SyntheticStage(
            "findImage",
            "Find Baseline Image",
            {
                "cloudProvider": baseline.get("cloudProvider") or "aws",
                "credentials": baseline.get("account"),
                "cluster": baseline.get("cluster"),
                "regions": regions,
                "onlyEnabled": True,
                "selectionStrategy": "NEWEST",
            },
        )
    ]
    for i, pair in enumerate(found, start=1):
        for role in ROLES:
            group = dict(pair.get(role) or {})
            group.setdefault("strategy", "")
            context_ = {**group, "canaryRole": role, "canaryPair": i}
            name = f"Deploy Canary {role.title()} #{i}"
            out.append(SyntheticStage("deployCanaryServerGroups", name, context_, parallel_group="deploy"))
    return out


def cleanup_stages(context: JSON) -> list[SyntheticStage]:
    found = pairs(context)
    if not found:
        return []
    clusters = [
        {"cloudProvider": g.get("cloudProvider") or "aws", "credentials": g.get("account") or g.get("credentials"),
         "cluster": cluster_name(g), "regions": _regions(g)}
        for p in found for g in (p.get("control") or {}, p.get("experiment") or {})
    ]  # fmt: skip
    delay = (context.get("deployments") or {}).get("delayBeforeCleanup") or "PT0S"
    try:
        seconds = plan.parse_duration_minutes(str(delay), "deployments.delayBeforeCleanup") * 60
    except plan.PlanError:
        seconds = 0.0
    out = [SyntheticStage("disableCluster", f"Disable {c['cluster']}", {**c, "remainingEnabledServerGroups": 0,
                                                                        "continuePipeline": True},
                          parallel_group="disable") for c in clusters]  # fmt: skip
    if seconds > 0:
        out.append(SyntheticStage("wait", "Wait Before Cleanup", {"waitTime": seconds}))
    shrink = {"shrinkToSize": 0, "allowDeleteActive": True}
    out += [SyntheticStage("shrinkCluster", f"Shrink {c['cluster']}", {**c, **shrink}, parallel_group="shrink")
            for c in clusters]  # fmt: skip
    return out


def canary_scopes(settings_scopes: list[JSON], stages: list[JSON], parent_id: str) -> list[JSON]:
    """The stage's scopes with scope and location taken from the groups it deployed (pair i → scope i)."""
    deployed: dict[tuple[int, str], tuple[str, str, str]] = {}
    for s in stages:
        ctx = s.get("context") or {}
        if s.get("parentStageId") != parent_id or s.get("type") != "deployCanaryServerGroups":
            continue
        for region, names in (ctx.get("deploy.server.groups") or {}).items():
            if names:
                account = str(ctx.get("account") or ctx.get("credentials") or "")
                deployed[(int(ctx.get("canaryPair") or 1), str(ctx.get("canaryRole")))] = (
                    str(names[0]),
                    region,
                    account,
                )
    out = []
    for i, scope in enumerate(settings_scopes, start=1):
        scope = dict(scope)
        control, experiment = deployed.get((i, "control")), deployed.get((i, "experiment"))
        if control and experiment:
            scope.update(controlScope=control[0], controlLocation=control[1],
                         experimentScope=experiment[0], experimentLocation=experiment[1])  # fmt: skip
            params = dict(scope.get("extendedScopeParams") or {})
            params.setdefault("dataset", "regional")
            params.update(type="asg", accountId=experiment[2])
            scope["extendedScopeParams"] = params
        out.append(scope)
    return out


async def use_baseline_image(runtime: TaskRuntime) -> TaskResult:
    """The control runs the baseline's image: the one "Find Baseline Image" found for the control's region."""
    me = runtime.stage_id
    stages = runtime.execution().get("stages") or []
    parent = next((s.get("parentStageId") for s in stages if s.get("id") == me), None)
    found = next((s for s in stages if s.get("parentStageId") == parent and s.get("type") == "findImage"), None)
    details = ((found or {}).get("outputs") or {}).get("deploymentDetails") or []
    regions = _regions(runtime.context)
    match = next((d for d in details if d.get("region") in regions), details[0] if details else None)
    if match is None:
        return TaskResult.terminal("deployments.baseline: no image found in the baseline cluster")
    return TaskResult.succeeded(context={"imageId": match["imageId"], "amiName": match.get("amiName")})


class DeployCanaryServerGroupsStage(StageDefinition):
    """One canary server group (control or experiment): the deploy stage's tasks, the control on the baseline's
    image."""

    type = "deployCanaryServerGroups"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        first: list[TaskSpec] = []
        if context.get("canaryRole") == "control" and not (context.get("imageId") or context.get("amiName")):
            first.append(TaskSpec("useBaselineImage", "com.netflix.spinnaker.orca.kayenta.tasks.UseBaselineImage",
                                  run=use_baseline_image))  # fmt: skip
        return first + DeployStage().tasks(context)

    def mutates_accounts(self, context: JSON) -> list[str]:
        return deploy_accounts(context)


def mutated_accounts(context: JSON) -> list[str]:
    """The accounts a kayentaCanary with deployments changes (for the engine's permission check)."""
    out: list[str] = []
    for p in pairs(context):
        for role in ROLES:
            for account in deploy_accounts(p.get(role) or {}):
                if account not in out:
                    out.append(account)
    return out
