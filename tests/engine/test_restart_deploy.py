"""Restarting a deploy stage deploys the next version (Orca), not the previous plan's, on moto's AWS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.worker import Worker

from tests.conftest import Settings, stage_named
from tests.providers.aws_fixtures import REGION, ZONES, AwsWorld
from workflows import operations

pytestmark = pytest.mark.temporal


@pytest_asyncio.fixture(loop_scope="session")
async def deploy_queue(client: Client, aws_cloud: Any, engine_store: Any) -> AsyncIterator[str]:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"restart-deploy-{uuid.uuid4()}"
    settings = Settings(task_queue=queue)
    activities = build_activities(
        settings, client, configs=MemoryConfigSource(), clouds={"aws": aws_cloud}, store=engine_store
    )
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=activities,
        activity_executor=ThreadPoolExecutor(max_workers=10),
        workflow_runner=workflow_runner(),
    ):
        yield queue


async def test_restarting_a_deploy_creates_the_next_version(
    client: Client, aws_world: AwsWorld, deploy_queue: str, engine_store: Any
) -> None:
    cluster = {
        "application": "myapp",
        "stack": "again",
        "account": "test",
        "cloudProvider": "aws",
        "availabilityZones": {REGION: ZONES},
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "instanceType": "t3.micro",
        "subnetType": "internal",
        "securityGroups": [aws_world.security_group_id],
        "imageId": aws_world.image_id,
    }
    config = {"application": "myapp", "name": "d", "stages": [{"refId": "d", "type": "deploy", "clusters": [cluster]}]}
    execution_id = await operations.start_pipeline(client, config, task_queue=deploy_queue)
    first = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine_store), 90)
    assert first["status"] == "SUCCEEDED", first
    deploy = stage_named(first, "deploy")
    assert deploy["context"]["serverGroupName"] == "myapp-again-v000"
    await operations.restart_stage(client, execution_id, deploy["id"], task_queue=deploy_queue, store=engine_store)
    again = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine_store), 90)
    assert again["status"] == "SUCCEEDED", again
    assert stage_named(again, "deploy")["context"]["serverGroupName"] == "myapp-again-v001"
    groups = aws_world.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    assert {g["AutoScalingGroupName"] for g in groups} >= {"myapp-again-v000", "myapp-again-v001"}
