"""kayentaCanary's ``deployments`` on moto's AWS server through the real engine: the control on the baseline
cluster's image and the experiment deployed by the deploy stage's tasks, the intervals analysing the deployed
groups, then both canary clusters disabled and shrunk to nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from tests.canary.stage.helpers import CONFIG, canary_stage, create_config, finished, stages_of, start
from tests.conftest import Gate
from tests.providers.aws_fixtures import REGION, ZONES

pytestmark = pytest.mark.temporal


def group(stack: str, world: Any, image: str | None = None) -> dict[str, Any]:
    out = {"application": "shop", "stack": stack, "account": "test", "cloudProvider": "aws",
           "availabilityZones": {REGION: ZONES}, "capacity": {"min": 1, "max": 1, "desired": 1},
           "subnetType": "internal", "targetGroups": [world.target_group_name]}  # fmt: skip
    if image:
        out["imageId"] = image
    return out


def asgs(world: Any, prefix: str) -> list[dict[str, Any]]:
    found = world.clients["autoscaling"].describe_auto_scaling_groups()["AutoScalingGroups"]
    return [g for g in found if g["AutoScalingGroupName"].startswith(prefix)]


def deployments(world: Any) -> dict[str, Any]:
    return {
        "baseline": {"cloudProvider": "aws", "application": "shop", "account": "test", "cluster": "shop-baseline"},
        "serverGroupPairs": [{"control": group("canarycontrol", world),
                              "experiment": group("canaryexp", world, world.old_image_id)}],
        "delayBeforeCleanup": "PT1S",
    }  # fmt: skip


async def run_canary(http: httpx.AsyncClient, world: Any, temporal_env: Any, query: str, **metric: Any) -> Any:
    """Deploy the baseline cluster, then run a kayentaCanary with deployments whose metric uses ``query``."""
    config = copy.deepcopy(CONFIG)
    config["metrics"][0]["query"] = {"type": "prometheus", "customInlineTemplate": query}
    config["metrics"][0]["analysisConfigurations"]["canary"].update(metric)
    await create_config(http, config)
    baseline = [{"refId": "1", "type": "createServerGroup", **group("baseline", world, world.image_id)}]
    first = await finished(temporal_env, http, await start(http, "baseline", baseline))
    assert first["status"] == "SUCCEEDED", first
    stage = {**canary_stage("ignored"), "deployments": deployments(world)}
    return await finished(temporal_env, http, await start(http, "canary", [stage]))


async def test_deploys_analyses_the_deployed_groups_and_cleans_up(
    aws_gate: Gate, aws_world: Any, temporal_env: Any
) -> None:
    async with httpx.AsyncClient(base_url=aws_gate.url, timeout=30) as http:
        # both sides query the baseline's series, so the verdict does not depend on the groups' names
        execution = await run_canary(http, aws_world, temporal_env, 'PromQL:avg(shop_error_rate{build="baseline"})')
        assert execution["status"] == "SUCCEEDED", [
            (s["name"], s["status"], s["context"].get("exception")) for s in execution["stages"]
        ]

    names = [(s["type"], s["name"]) for s in execution["stages"] if s.get("parentStageId")]
    assert names == [
        ("findImage", "Find Baseline Image"),
        ("deployCanaryServerGroups", "Deploy Canary Control #1"),
        ("deployCanaryServerGroups", "Deploy Canary Experiment #1"),
        ("runCanary", "Run Canary #1"),
        ("runCanary", "Run Canary #2"),
        ("disableCluster", "Disable shop-canarycontrol"),
        ("disableCluster", "Disable shop-canaryexp"),
        ("wait", "Wait Before Cleanup"),
        ("shrinkCluster", "Shrink shop-canarycontrol"),
        ("shrinkCluster", "Shrink shop-canaryexp"),
    ]
    control, experiment = stages_of(execution, "deployCanaryServerGroups")
    assert control["context"]["imageId"] == aws_world.image_id  # the baseline cluster's image
    assert control["context"]["deploy.server.groups"] == {REGION: ["shop-canarycontrol-v000"]}
    assert experiment["context"]["deploy.server.groups"] == {REGION: ["shop-canaryexp-v000"]}
    scopes = stages_of(execution, "runCanary")[0]["context"]["scopes"]["default"]
    assert (scopes["controlScope"]["scope"], scopes["controlScope"]["location"]) == ("shop-canarycontrol-v000", REGION)
    assert (scopes["experimentScope"]["scope"], scopes["experimentScope"]["location"]) == (
        "shop-canaryexp-v000",
        REGION,
    )
    assert scopes["experimentScope"]["extendedScopeParams"] == {
        "dataset": "regional",
        "type": "asg",
        "accountId": "test",
    }
    # cleaned up: the canary clusters are gone, the baseline stays
    assert asgs(aws_world, "shop-canary") == []
    assert [g["AutoScalingGroupName"] for g in asgs(aws_world, "shop-baseline")] == ["shop-baseline-v000"]


async def test_a_failing_interval_still_cleans_up(aws_gate: Gate, aws_world: Any, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=aws_gate.url, timeout=30) as http:
        # no series carries the groups' names and the metric must have data: the first interval fails
        query = 'PromQL:avg(shop_error_rate{build="${scope}"})'
        execution = await run_canary(http, aws_world, temporal_env, query, mustHaveData=True)
    assert execution["status"] == "TERMINAL"
    [top] = stages_of(execution, "kayentaCanary")
    assert top["status"] == "TERMINAL"
    assert top["context"]["exception"]["details"]["error"].startswith("Run Canary #1: ")
    first, second = stages_of(execution, "runCanary")
    assert first["status"] == "FAILED_CONTINUE"
    assert second["context"]["skipped"] == "Run Canary #1 failed: nothing left to judge"
    assert [t["status"] for t in second["tasks"]][-2:] == ["SKIPPED", "SKIPPED"]
    cleanup = [
        (s["type"], s["status"]) for s in execution["stages"] if s["type"] in ("disableCluster", "shrinkCluster")
    ]
    assert len(cleanup) == 4 and all(status == "SUCCEEDED" for _, status in cleanup), cleanup
    assert asgs(aws_world, "shop-canary") == []


async def test_a_failing_deploy_still_cleans_up_what_was_deployed(
    aws_gate: Gate, aws_world: Any, temporal_env: Any
) -> None:
    """The experiment's deploy (a before stage) fails: Orca plans a stage's on-failure stages whenever it fails, so
    the control group deployed just before is removed too (the engine used to run them only after the stage's own
    tasks, and the control group stayed up)."""
    async with httpx.AsyncClient(base_url=aws_gate.url, timeout=30) as http:
        await create_config(http)
        baseline = [{"refId": "1", "type": "createServerGroup", **group("baseline", aws_world, aws_world.image_id)}]
        first = await finished(temporal_env, http, await start(http, "baseline", baseline))
        assert first["status"] == "SUCCEEDED", first
        broken = deployments(aws_world)
        broken["serverGroupPairs"][0]["experiment"]["subnetType"] = "nowhere"  # no subnet has this purpose
        stage = {**canary_stage("ignored"), "deployments": broken}
        execution_id = await start(http, "canary-broken", [stage])
        execution = await finished(temporal_env, http, execution_id)
    assert execution["status"] == "TERMINAL"
    [top] = stages_of(execution, "kayentaCanary")
    assert top["status"] == "TERMINAL"
    control, experiment = stages_of(execution, "deployCanaryServerGroups")
    assert control["status"] == "SUCCEEDED" and experiment["status"] == "TERMINAL"
    assert "subnetType" in json.dumps(experiment["context"].get("exception"))
    assert stages_of(execution, "runCanary") == []  # the analysis never started
    cleanup = [
        (s["type"], s["status"]) for s in execution["stages"] if s["type"] in ("disableCluster", "shrinkCluster")
    ]
    assert len(cleanup) == 4 and all(status == "SUCCEEDED" for _, status in cleanup), cleanup
    assert asgs(aws_world, "shop-canary") == []  # the control group did not outlive the failed canary
    assert [g["AutoScalingGroupName"] for g in asgs(aws_world, "shop-baseline")] == ["shop-baseline-v000"]
