"""The same deploy stages against GCE (the Compute stand-in, driven by google-cloud-compute): find image →
red/black with a network load balancer → resize → destroy the old managed instance group."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import pytest_asyncio
from temporalio.worker import Worker

from tests.providers.gce_fixtures import GCE_LB, GCE_REGION, GCE_ZONES, GceWorld
from workflows import operations

pytestmark = pytest.mark.temporal


@pytest_asyncio.fixture(loop_scope="session")
async def run(client: Any, gce_world: GceWorld, gce_cloud: Any) -> AsyncIterator[Any]:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from tests.conftest import Settings
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"gce-{uuid.uuid4()}"
    activities = build_activities(
        Settings(task_queue=queue), client, configs=MemoryConfigSource(), clouds={"gce": gce_cloud}
    )

    async def execute(stages: list[dict[str, Any]]) -> dict[str, Any]:
        config = {"application": "myapp", "name": "gce", "limitConcurrent": False, "stages": stages}
        execution_id = await operations.start_pipeline(client, config, task_queue=queue)
        return await operations.wait_for_execution(client, execution_id)

    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=activities,
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=workflow_runner(),
    ):
        yield execute


async def test_red_black_on_gce(run: Any, gce_world: GceWorld, gce_cloud: Any) -> None:
    find = {
        "refId": "find",
        "type": "findImageFromTags",
        "cloudProvider": "gce",
        "credentials": "gce-test",
        "packageName": "myapp",
        "tags": {"appversion": "1-0-0"},
        "regions": [GCE_REGION],
    }
    cluster = {
        "application": "myapp",
        "stack": "prod",
        "account": "gce-test",
        "cloudProvider": "gce",
        "region": GCE_REGION,
        "distributionPolicy": {"zones": GCE_ZONES},
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "instanceType": "e2-small",
        "loadBalancers": [GCE_LB],
        "strategy": "redblack",
        "interestingHealthProviderNames": ["Google"],  # no health checks here: the platform's health counts
    }
    deploy = {"refId": "deploy", "requisiteStageRefIds": ["find"], "type": "deploy", "clusters": [cluster]}
    for expected in ("myapp-prod-v000", "myapp-prod-v001"):
        done = await run([find, deploy])
        assert done["status"] == "SUCCEEDED", done
        assert done["stages"][1]["context"]["serverGroupName"] == expected
    assert done["stages"][0]["outputs"]["deploymentDetails"][0]["imageName"] == gce_world.image
    old = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-prod-v000")
    new = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-prod-v001")
    assert old.disabled and not new.disabled
    members = gce_world.pool_members()
    assert members and all("myapp-prod-v001" in m for m in members)

    where = {"cloudProvider": "gce", "credentials": "gce-test", "regions": [GCE_REGION], "cluster": "myapp-prod"}
    ops = await run(
        [
            {
                "refId": "1",
                "type": "resizeServerGroup",
                **where,
                "target": "current_asg_dynamic",
                "action": "scale_exact",
                "capacity": {"min": 3, "max": 3, "desired": 3},
                "interestingHealthProviderNames": ["Google"],
            },
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "destroyServerGroup",
                **where,
                "target": "ancestor_asg_dynamic",
            },
        ]
    )
    assert ops["status"] == "SUCCEEDED", ops
    assert [g.name for g in gce_cloud.server_groups("gce-test", GCE_REGION, "myapp-prod")] == ["myapp-prod-v001"]
    assert gce_cloud.server_group("gce-test", GCE_REGION, "myapp-prod-v001").capacity.desired == 3
