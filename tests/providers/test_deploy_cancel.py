"""Canceling a deploy through the engine, on moto's server: with ``rollback.onFailure`` the cluster is put back
(the replaced group enabled at its old size, the new one disabled, or destroyed with ``destroyLatest``);
without it the deploy just stops where it was, as Orca's does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.providers.test_deploy_pipeline import Deployer, cluster, deployer  # noqa: F401 - the engine fixture
from workflows import operations

pytestmark = pytest.mark.temporal


async def _start(dep: Deployer, clusters: list[dict[str, Any]]) -> str:
    config = {
        "application": "myapp",
        "name": "deploy",
        "limitConcurrent": False,
        "stages": [{"refId": "d", "type": "deploy", "clusters": clusters}],
    }
    return await operations.start_pipeline(dep.client, config, task_queue=dep.queue)


async def _cancel_when_running(dep: Deployer, execution_id: str, stage_name: str) -> dict[str, Any]:
    for _ in range(600):
        execution = await operations.get_execution(dep.client, execution_id)
        if any(s["name"] == stage_name and s["status"] == "RUNNING" for s in execution["stages"]):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"{stage_name} never ran: {execution}")
    await operations.cancel_execution(dep.client, execution_id, user="tester", reason="stop it")
    return await operations.wait_for_execution(dep.client, execution_id)


async def _first(dep: Deployer, **extra: Any) -> None:
    world = dep.world
    done = await dep.run(
        [{"refId": "d", "type": "deploy", "clusters": [cluster(world, imageId=world.image_id, **extra)]}]
    )
    assert done["status"] == "SUCCEEDED", done


async def test_canceling_a_red_black_rolls_back(deployer: Deployer) -> None:  # noqa: F811
    world = deployer.world
    await _first(deployer)
    red_black = cluster(
        world,
        imageId=world.image_id,
        strategy="redblack",
        scaleDown=True,
        delayBeforeScaleDownSec=300,
        rollback={"onFailure": True},
    )
    done = await _cancel_when_running(deployer, await _start(deployer, [red_black]), "waitBeforeScaleDown")
    assert done["status"] == "CANCELED", done
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v001")  # the new group: disabled, kept
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v000")  # the old one: serving again
    groups = deployer.groups()
    assert set(groups) == {"myapp-prod-v000", "myapp-prod-v001"}
    assert groups["myapp-prod-v000"]["DesiredCapacity"] == 2
    old_ids = {i["InstanceId"] for i in groups["myapp-prod-v000"]["Instances"]}
    assert world.target_ids() == old_ids


async def test_canceling_a_rolling_red_black_destroys_the_new_group_with_destroy_latest(
    deployer: Deployer,  # noqa: F811
) -> None:
    world = deployer.world
    await _first(deployer, capacity={"min": 1, "max": 2, "desired": 2})
    rolling = cluster(
        world,
        imageId=world.image_id,
        capacity={"min": 1, "max": 2, "desired": 2},
        strategy="rollingredblack",
        targetPercentages=[50],
        delayBeforeCleanup=300,
        rollback={"onFailure": True, "destroyLatest": True},
    )
    done = await _cancel_when_running(deployer, await _start(deployer, [rolling]), "wait")
    assert done["status"] == "CANCELED", done
    groups = deployer.groups()
    assert set(groups) == {"myapp-prod-v000"}  # the half-grown group is gone
    assert groups["myapp-prod-v000"]["MinSize"] == 1  # pinned by the strategy, back as it was
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v000")


async def test_without_rollback_a_canceled_deploy_stops_where_it_was(deployer: Deployer) -> None:  # noqa: F811
    world = deployer.world
    await _first(deployer)
    red_black = cluster(world, imageId=world.image_id, strategy="redblack", scaleDown=True, delayBeforeScaleDownSec=300)
    done = await _cancel_when_running(deployer, await _start(deployer, [red_black]), "waitBeforeScaleDown")
    assert done["status"] == "CANCELED", done
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v000")  # disabled, as the deploy left it
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v001")
