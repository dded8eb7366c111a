"""A red/black deploy against moto's server, run by the real ``worker.py`` in its own process, SIGKILLed
after each step -- the new group created, its instances Up, the old group disabled, the old group scaled
down -- and started again each time. The deploy still SUCCEEDS with exactly one new server group, the old
one disabled and scaled down, and nothing else destroyed or created.

A kill in the middle of an activity is noticed through its heartbeat (20 s, the deploy's cloud calls
heartbeat from a side thread): the first kill waits that out, which proves the heartbeat. After the other
kills the test fails the killed worker's attempts itself (what the server does when the heartbeat times out,
20 s sooner), so the retries -- what each step's kill is about -- start at once and the test takes about
half a minute instead of a minute and a half."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.killed_worker import fail_attempts_of
from tests.providers.aws_fixtures import FAKE_KEY_ID, FAKE_SECRET, REGION, ZONES, AwsWorld
from tests.workflows.test_durability import Worker
from workflows import operations

pytestmark = [pytest.mark.temporal, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def worker(client: Any, aws_world: AwsWorld, tmp_path: Path) -> Iterator[Worker]:
    """``worker.py`` with one AWS account on moto's server, on a task queue of its own."""
    config = tmp_path / "gennaker.yml"
    account = {
        "name": "test",
        "type": "aws",
        "regions": [REGION],
        "accessKeyId": FAKE_KEY_ID,
        "secretAccessKey": FAKE_SECRET,
        "endpointUrl": aws_world.endpoint,
    }
    config.write_text(yaml.safe_dump({"accounts": [account]}), encoding="utf-8")
    proc = Worker(client.service_client.config.target_host, f"deploy-kill-{uuid.uuid4()}", tmp_path)
    proc.env["GENNAKER_CONFIG_FILE"] = str(config)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _deploy(world: AwsWorld, **extra: Any) -> dict[str, Any]:
    cluster = {
        "application": "myapp",
        "stack": "prod",
        "account": "test",
        "cloudProvider": "aws",
        "availabilityZones": {REGION: ZONES},
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "imageId": world.image_id,
        "instanceType": "t3.micro",
        "subnetType": "internal",
        "securityGroups": [world.security_group_id],
        "targetGroups": [world.target_group_name],
        **extra,
    }
    return {
        "application": "myapp",
        "name": "deploy",
        "limitConcurrent": False,
        "stages": [{"refId": "1", "type": "deploy", "clusters": [cluster]}],
    }


def _groups(world: AwsWorld) -> dict[str, dict[str, Any]]:
    found = world.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    return {g["AutoScalingGroupName"]: g for g in found}


async def _until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            if await check():
                return
        except Exception:  # noqa: BLE001 - no worker to answer a query while it is down
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached: {what}")


async def _run(client: Any, worker: Worker, config: dict[str, Any]) -> dict[str, Any]:
    execution_id = await operations.start_pipeline(client, config, task_queue=worker.env["GENNAKER_TASK_QUEUE"])
    return await operations.wait_for_execution(client, execution_id)


async def test_a_red_black_deploy_survives_a_worker_kill_after_every_step(
    client: Any, aws_world: AwsWorld, worker: Worker
) -> None:
    world = aws_world
    first = await _run(client, worker, _deploy(world))
    assert first["status"] == "SUCCEEDED", first
    execution_id = await operations.start_pipeline(
        client,
        _deploy(world, strategy="redblack", scaleDown=True),
        task_queue=worker.env["GENNAKER_TASK_QUEUE"],
    )

    async def created() -> bool:
        return "myapp-prod-v001" in _groups(world)

    async def up() -> bool:
        execution = await operations.get_execution(client, execution_id)
        tasks = {t["name"]: t["status"] for t in execution["stages"][0].get("tasks") or []}
        return tasks.get("waitForUpInstances") == "SUCCEEDED"

    async def disabled() -> bool:
        return "AddToLoadBalancer" in world.suspended("myapp-prod-v000")

    async def scaled_down() -> bool:
        return _groups(world)["myapp-prod-v000"]["DesiredCapacity"] == 0

    expedited = 0
    for step, check in (("created", created), ("up", up), ("disabled", disabled), ("scaled down", scaled_down)):
        await _until(step, check)
        assert worker.proc is not None
        pid = worker.proc.pid
        worker.kill()
        if step != "created":  # the first kill is noticed by the heartbeat timeout itself
            expedited += await fail_attempts_of(client, pid, worker.env["GENNAKER_TASK_QUEUE"])
        worker.start()

    done = await operations.wait_for_execution(client, execution_id)
    assert done["status"] == "SUCCEEDED", done
    assert worker.starts == 5
    assert expedited >= 1, "no kill landed in a running activity: the retries were never tested"
    groups = _groups(world)
    assert set(groups) == {"myapp-prod-v000", "myapp-prod-v001"}  # one new group, nothing destroyed
    assert groups["myapp-prod-v000"]["DesiredCapacity"] == 0 and "AddToLoadBalancer" in world.suspended(
        "myapp-prod-v000"
    )
    new = groups["myapp-prod-v001"]
    assert new["DesiredCapacity"] == 2 and not world.suspended("myapp-prod-v001") & {"AddToLoadBalancer"}
    assert world.target_ids() == {i["InstanceId"] for i in new["Instances"]}
    templates = world.ec2.describe_launch_templates()["LaunchTemplates"]
    assert sorted(t["LaunchTemplateName"] for t in templates) == ["myapp-prod-v000", "myapp-prod-v001"]
    assert done["stages"][0]["context"]["deploy.server.groups"] == {REGION: ["myapp-prod-v001"]}
