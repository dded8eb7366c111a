"""Pipelines that deploy to AWS (moto's server) through the engine: find image → deploy red/black → resize →
disable and destroy the old group; highlander; target resolution; errors that name the field."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import pytest_asyncio
from temporalio.worker import Worker

from tests.providers.aws_fixtures import REGION, ZONES, AwsWorld
from workflows import operations

pytestmark = pytest.mark.temporal


class Deployer:
    def __init__(self, client: Any, queue: str, world: AwsWorld, configs: Any) -> None:
        self.client, self.queue, self.world, self.configs = client, queue, world, configs

    async def run(self, stages: list[dict[str, Any]], name: str = "deploy") -> dict[str, Any]:
        config = {"application": "myapp", "name": name, "limitConcurrent": False, "stages": stages}
        execution_id = await operations.start_pipeline(self.client, config, task_queue=self.queue)
        return await operations.wait_for_execution(self.client, execution_id)

    def groups(self) -> dict[str, dict[str, Any]]:
        found = self.world.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        return {g["AutoScalingGroupName"]: g for g in found}


@pytest_asyncio.fixture(loop_scope="session")
async def deployer(client: Any, aws_world: AwsWorld, aws_cloud: Any) -> AsyncIterator[Deployer]:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"deploy-{uuid.uuid4()}"
    configs = MemoryConfigSource()
    activities = build_activities(Settings(task_queue=queue), client, configs=configs, clouds={"aws": aws_cloud})
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=activities,
        activity_executor=ThreadPoolExecutor(max_workers=10),
        workflow_runner=workflow_runner(),
    ):
        yield Deployer(client, queue, aws_world, configs)


def cluster(world: AwsWorld, **extra: Any) -> dict[str, Any]:
    return {
        "application": "myapp",
        "stack": "prod",
        "account": "test",
        "cloudProvider": "aws",
        "availabilityZones": {REGION: ZONES},
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "instanceType": "t3.micro",
        "subnetType": "internal",
        "securityGroups": [world.security_group_id],
        "targetGroups": [world.target_group_name],
        **extra,
    }


def target(stage_type: str, target_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": stage_type,
        "cloudProvider": "aws",
        "credentials": "test",
        "regions": [REGION],
        "cluster": "myapp-prod",
        "target": target_name,
        **extra,
    }


async def test_red_black_then_resize_disable_and_destroy(deployer: Deployer) -> None:
    world = deployer.world
    find = {
        "refId": "find",
        "type": "findImageFromTags",
        "packageName": "myapp",
        "tags": {"appversion": "1.0.0"},
        "regions": [REGION],
        "cloudProvider": "aws",
        "credentials": "test",
    }
    deploy = {
        "refId": "deploy",
        "requisiteStageRefIds": ["find"],
        "type": "deploy",
        "clusters": [cluster(world, strategy="redblack", scaleDown=True, maxRemainingAsgs=2)],
    }
    first = await deployer.run([find, deploy])
    assert first["status"] == "SUCCEEDED", first
    assert first["stages"][0]["outputs"]["deploymentDetails"][0]["imageId"] == world.image_id
    assert set(deployer.groups()) == {"myapp-prod-v000"}

    second = await deployer.run([find, deploy])
    assert second["status"] == "SUCCEEDED", second
    groups = deployer.groups()
    assert set(groups) == {"myapp-prod-v000", "myapp-prod-v001"}
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v000")  # disabled: out of the target group
    assert groups["myapp-prod-v000"]["DesiredCapacity"] == 0  # scaleDown
    new_ids = {i["InstanceId"] for i in groups["myapp-prod-v001"]["Instances"]}
    assert world.target_ids() == new_ids
    strategy = [s["type"] for s in second["stages"] if s.get("parentStageId")]
    assert strategy == ["shrinkCluster", "disableCluster", "scaleDownCluster"]  # shrink first, as Orca

    ops = await deployer.run(
        [
            {**target("resizeServerGroup", "current_asg_dynamic", action="scale_up", scaleNum=1), "refId": "1"},
            {**target("enableServerGroup", "ancestor_asg_dynamic"), "refId": "2", "requisiteStageRefIds": ["1"]},
            {**target("disableServerGroup", "ancestor_asg_dynamic"), "refId": "3", "requisiteStageRefIds": ["2"]},
            {**target("destroyServerGroup", "ancestor_asg_dynamic"), "refId": "4", "requisiteStageRefIds": ["3"]},
        ],
        name="operate",
    )
    assert ops["status"] == "SUCCEEDED", ops
    assert ops["stages"][0]["context"]["targets"][0]["capacity"] == {"min": 2, "max": 3, "desired": 3}
    assert [s["context"]["serverGroupName"] for s in ops["stages"]] == [
        "myapp-prod-v001",
        "myapp-prod-v000",
        "myapp-prod-v000",
        "myapp-prod-v000",
    ]
    groups = deployer.groups()
    assert set(groups) == {"myapp-prod-v001"} and groups["myapp-prod-v001"]["DesiredCapacity"] == 3


async def test_highlander_leaves_only_the_new_group(deployer: Deployer) -> None:
    world = deployer.world
    for _ in range(2):
        done = await deployer.run(
            [
                {
                    "refId": "d",
                    "type": "deploy",
                    "clusters": [cluster(world, imageId=world.image_id, strategy="highlander")],
                }
            ]
        )
        assert done["status"] == "SUCCEEDED", done
    assert set(deployer.groups()) == {"myapp-prod-v001"}


async def test_bad_input_fails_the_stage_with_the_field(deployer: Deployer) -> None:
    world = deployer.world
    no_image = await deployer.run([{"refId": "d", "type": "createServerGroup", **cluster(world)}])
    assert no_image["status"] == "TERMINAL"
    assert "imageId" in no_image["stages"][0]["context"]["exception"]["details"]["error"]
    bad_capacity = await deployer.run(
        [
            {
                "refId": "d",
                "type": "createServerGroup",
                **cluster(world, imageId=world.image_id, capacity={"min": 3, "max": 1}),
            }
        ]
    )
    assert "capacity" in bad_capacity["stages"][0]["context"]["exception"]["details"]["error"]
    unknown = await deployer.run([{"refId": "d", **target("disableServerGroup", "ancestor_asg_dynamic")}])
    assert unknown["status"] == "TERMINAL" and "ancestor" in str(unknown["stages"][0]["context"]["exception"])
    assert deployer.groups() == {}


async def test_without_load_balancers_the_clouds_own_health_counts(deployer: Deployer) -> None:
    world = deployer.world
    plain = cluster(world, imageId=world.image_id, targetGroups=[])
    done = await deployer.run([{"refId": "d", "type": "createServerGroup", **plain}])
    assert done["status"] == "SUCCEEDED", done  # Unknown/Starting instances count when nothing else could report


async def test_cluster_size_precondition(deployer: Deployer) -> None:
    world = deployer.world
    await deployer.run([{"refId": "d", "type": "createServerGroup", **cluster(world, imageId=world.image_id)}])

    def check(expected: int, comparison: str = "==") -> dict[str, Any]:
        where = {"credentials": "test", "cloudProvider": "aws", "regions": [REGION], "cluster": "myapp-prod"}
        return {
            "refId": "c",
            "type": "checkPreconditions",
            "preconditions": [
                {"type": "clusterSize", "context": {**where, "expected": expected, "comparison": comparison}}
            ],
        }

    assert (await deployer.run([check(1)]))["status"] == "SUCCEEDED"
    assert (await deployer.run([check(0, ">")]))["status"] == "SUCCEEDED"
    failed = await deployer.run([check(2)])
    assert failed["status"] == "TERMINAL"
    assert "expected cluster size == 2, was 1 in us-east-1" in json.dumps(failed)


async def test_explicit_rollback(deployer: Deployer) -> None:
    world = deployer.world
    rb = cluster(world, imageId=world.image_id, strategy="redblack")
    for _ in range(2):
        assert (await deployer.run([{"refId": "d", "type": "deploy", "clusters": [rb]}]))["status"] == "SUCCEEDED"
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v000")
    rollback = {
        "refId": "r",
        "type": "rollbackServerGroup",
        "rollbackType": "EXPLICIT",
        "cloudProvider": "aws",
        "credentials": "test",
        "regions": [REGION],
        "rollbackContext": {"rollbackServerGroupName": "myapp-prod-v001", "restoreServerGroupName": "myapp-prod-v000"},
    }
    done = await deployer.run([rollback], name="rollback")
    assert done["status"] == "SUCCEEDED", done
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v000")
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v001")
    restored = deployer.groups()["myapp-prod-v000"]
    assert world.target_ids() == {i["InstanceId"] for i in restored["Instances"]}
    missing = await deployer.run(
        [
            {
                **rollback,
                "rollbackContext": {"rollbackServerGroupName": "myapp-prod-v001", "restoreServerGroupName": "nope"},
            }
        ]
    )
    assert missing["status"] == "TERMINAL" and "nope" in json.dumps(missing["stages"][0]["context"]["exception"])


async def test_custom_strategy_runs_the_strategy_pipeline(deployer: Deployer) -> None:
    world = deployer.world
    strategy = {
        "id": "strategy-1",
        "application": "myapp",
        "name": "disable the others",
        "strategy": True,
        "parameterConfig": [{"name": n} for n in ("credentials", "cluster", "region", "cloudProvider", "note")],
        "stages": [
            {
                "refId": "1",
                "type": "disableCluster",
                "cloudProvider": "${parameters.cloudProvider}",
                "credentials": "${parameters.credentials}",
                "regions": ["${parameters.region}"],
                "cluster": "${parameters.cluster}",
                "remainingEnabledServerGroups": 1,
            }
        ],
    }
    deployer.configs.configs.append(strategy)
    custom = cluster(
        world,
        imageId=world.image_id,
        strategy="custom",
        strategyApplication="myapp",
        strategyPipeline="strategy-1",
        pipelineParameters={"note": "from the deploy"},
    )
    for _ in range(2):
        done = await deployer.run([{"refId": "d", "type": "deploy", "clusters": [custom]}])
        assert done["status"] == "SUCCEEDED", done
    [run] = [s for s in done["stages"] if s["type"] == "pipeline"]
    params = run["context"]["pipelineParameters"]
    assert params["strategy"] is True and params["cluster"] == "myapp-prod" and params["note"] == "from the deploy"
    assert params["parentPipelineId"] == done["id"]
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v000")
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v001")


async def test_a_failed_red_black_rolls_back_on_failure(deployer: Deployer) -> None:
    world = deployer.world
    first = await deployer.run([{"refId": "d", "type": "deploy", "clusters": [cluster(world, imageId=world.image_id)]}])
    assert first["status"] == "SUCCEEDED"
    failing = cluster(world, imageId=world.image_id, strategy="redblack", rollback={"onFailure": True})
    stage = {
        "refId": "d",
        "type": "deploy",
        "clusters": [failing],
        "targetHealthyDeployPercentage": 200,
    }  # the wait for up instances fails, after the group was created
    done = await deployer.run([stage])
    assert done["status"] == "TERMINAL"
    deploy = done["stages"][0]
    error = json.dumps(deploy["context"]["exception"])
    assert deploy["status"] == "TERMINAL" and "targetHealthyDeployPercentage: must be between 0 and 100" in error
    [rollback] = [s for s in done["stages"] if s.get("parentStageId") == deploy["id"]]
    assert rollback["type"] == "rollbackServerGroup" and rollback["status"] == "SUCCEEDED", rollback
    assert rollback["context"]["rollbackPlan"]["restoreServerGroupName"] == "myapp-prod-v000"
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v001")
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v000")


async def test_clone_takes_what_the_stage_leaves_out_from_the_source(deployer: Deployer) -> None:
    world = deployer.world
    big = cluster(world, imageId=world.image_id, capacity={"min": 3, "max": 3, "desired": 3}, instanceType="m5.large")
    assert (await deployer.run([{"refId": "d", "type": "createServerGroup", **big}]))["status"] == "SUCCEEDED"
    clone = {
        "refId": "c",
        "type": "cloneServerGroup",
        "application": "myapp",
        "stack": "prod",
        "account": "test",
        "cloudProvider": "aws",
        "availabilityZones": {REGION: ZONES},
        "subnetType": "internal",
        "useSourceCapacity": True,
        "source": {"account": "test", "region": REGION, "asgName": "myapp-prod-v000"},
    }
    done = await deployer.run([clone])
    assert done["status"] == "SUCCEEDED", done
    copy = deployer.groups()["myapp-prod-v001"]
    assert copy["DesiredCapacity"] == 3
    template = world.ec2.describe_launch_template_versions(LaunchTemplateName="myapp-prod-v001")
    data = template["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["ImageId"] == world.image_id and data["InstanceType"] == "m5.large"
    assert world.target_ids() >= {i["InstanceId"] for i in copy["Instances"]}
    missing = await deployer.run([{**clone, "source": {"account": "test", "region": REGION, "asgName": "nope-v000"}}])
    assert missing["status"] == "TERMINAL" and "source" in json.dumps(missing["stages"][0]["context"]["exception"])
