"""A red/black deploy whose worker "dies" right after each cloud call, before it can report: the call
happened, its activity's result is lost, and Temporal runs the activity again. At every such point the
deploy still ends with exactly one new server group, and the old one disabled and scaled down, never a
second new group or the wrong one destroyed. (The worker process itself is SIGKILLed in
tests/workflows/test_durability.py; this test reaches every step deterministically.)"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from temporalio.worker import Worker

from providers.base import TransientCloudError
from tests.providers.aws_fixtures import REGION, ZONES, AwsWorld
from workflows import operations

pytestmark = pytest.mark.temporal
MUTATIONS = ("create_server_group", "disable", "resize", "destroy", "enable")


class DyingAfter:
    """The cloud, except that the ``n``-th mutating call (counting from 1) raises after it has happened."""

    def __init__(self, cloud: Any, n: int) -> None:
        self.cloud, self.n, self.calls, self.died = cloud, n, 0, False
        self.cloud_provider = cloud.cloud_provider

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.cloud, name)
        if name not in MUTATIONS:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            self.calls += 1
            if self.calls == self.n and not self.died:
                self.died = True
                raise TransientCloudError(f"the worker died after {name} (simulated)")
            return result

        return call


def deploy_stage(world: AwsWorld) -> dict[str, Any]:
    return {
        "refId": "1",
        "type": "deploy",
        "clusters": [
            {
                "application": "myapp",
                "stack": "prod",
                "account": "test",
                "cloudProvider": "aws",
                "availabilityZones": {REGION: ZONES},
                "capacity": {"min": 2, "max": 2, "desired": 2},
                "imageId": world.image_id,
                "subnetType": "internal",
                "targetGroups": [world.target_group_name],
                "strategy": "redblack",
                "scaleDown": True,
                "maxRemainingAsgs": 2,
            }
        ],
    }


async def run_deploy(client: Any, world: AwsWorld, cloud: Any) -> dict[str, Any]:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"once-{uuid.uuid4()}"
    activities = build_activities(
        Settings(task_queue=queue), client, configs=MemoryConfigSource(), clouds={"aws": cloud}
    )
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=activities,
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=workflow_runner(),
    ):
        config = {"application": "myapp", "name": "rb", "limitConcurrent": False, "stages": [deploy_stage(world)]}
        execution_id = await operations.start_pipeline(client, config, task_queue=queue)
        return await operations.wait_for_execution(client, execution_id)


@pytest.mark.parametrize("dies_after", [1, 2, 3], ids=["create", "disable-old", "scale-down-old"])
async def test_red_black_survives_a_lost_result_at_every_step(client, aws_world, aws_cloud, dies_after: int) -> None:
    first = await run_deploy(client, aws_world, aws_cloud)
    assert first["status"] == "SUCCEEDED", first
    dying = DyingAfter(aws_cloud, dies_after)
    second = await run_deploy(client, aws_world, dying)
    assert second["status"] == "SUCCEEDED", second
    assert dying.died  # the step was reached, and the deploy went on after it
    groups = {
        g["AutoScalingGroupName"]: g for g in aws_world.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    }
    assert set(groups) == {"myapp-prod-v000", "myapp-prod-v001"}  # one new group, the old one kept
    templates = aws_world.ec2.describe_launch_templates()["LaunchTemplates"]
    assert sorted(t["LaunchTemplateName"] for t in templates) == ["myapp-prod-v000", "myapp-prod-v001"]
    assert "AddToLoadBalancer" in aws_world.suspended("myapp-prod-v000")
    assert groups["myapp-prod-v000"]["DesiredCapacity"] == 0
    assert groups["myapp-prod-v001"]["DesiredCapacity"] == 2
    assert aws_world.target_ids() == {i["InstanceId"] for i in groups["myapp-prod-v001"]["Instances"]}
