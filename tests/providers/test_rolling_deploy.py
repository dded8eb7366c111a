"""Rolling red/black through the engine: on AWS (moto's server) and on GCE (the Compute stand-in). The new
group starts empty, grows to each percentage of the old one's size, the old one is disabled at 100%
(and scaled down, or unpinned); a failing grow rolls back to the old group."""

from __future__ import annotations

from typing import Any

import pytest

from tests.providers.gce_fixtures import GCE_LB, GCE_REGION, GCE_ZONES, GceWorld
from tests.providers.test_deploy_gce import run  # noqa: F401 - the GCE engine fixture
from tests.providers.test_deploy_pipeline import Deployer, cluster, deployer  # noqa: F401 - the AWS one

pytestmark = pytest.mark.temporal


def _strategy(done: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["name"], s["status"]) for s in done["stages"] if s.get("parentStageId")]


async def test_rolling_red_black_on_aws(deployer: Deployer) -> None:  # noqa: F811
    world = deployer.world
    first = cluster(world, imageId=world.image_id, capacity={"min": 2, "max": 4, "desired": 4})
    assert (await deployer.run([{"refId": "d", "type": "deploy", "clusters": [first]}]))["status"] == "SUCCEEDED"
    rolling = cluster(
        world,
        imageId=world.image_id,
        capacity={"min": 2, "max": 4, "desired": 4},
        strategy="rollingredblack",
        targetPercentages=[50],
        scaleDown=True,
    )
    done = await deployer.run([{"refId": "d", "type": "deploy", "clusters": [rolling]}])
    assert done["status"] == "SUCCEEDED", done
    assert _strategy(done) == [
        ("Pin myapp-prod-v000", "SUCCEEDED"),
        ("Grow to 50% of Desired Size", "SUCCEEDED"),
        ("Disable 50% of Traffic on myapp-prod-v000", "SUCCEEDED"),
        ("Grow to 100% of Desired Size", "SUCCEEDED"),
        ("Disable 100% of Traffic on myapp-prod-v000", "SUCCEEDED"),
        ("scaleDown", "SUCCEEDED"),
    ]
    new_ids = {i["InstanceId"] for i in deployer.groups()["myapp-prod-v001"]["Instances"]}
    half = next(s for s in done["stages"] if s["name"].startswith("Disable 50%"))
    # 2 of the old group's 4 instances left its target group at the 50% step (Clouddriver's desiredPercentage)
    taken = set(half["context"]["instanceIdsToDisable"])
    assert len(taken) == 2 and not taken & new_ids
    deploy = done["stages"][0]
    assert deploy["context"]["deploy.plan"][0]["capacity"] == {"min": 0, "max": 0, "desired": 0}  # created empty
    grow50, grow100 = [s for s in done["stages"] if s["name"].startswith("Grow")]
    assert grow50["context"]["targets"][0]["capacity"] == {"min": 2, "max": 2, "desired": 2}  # 50% of 4, pinned
    assert grow100["context"]["targets"][0]["capacity"] == {"min": 2, "max": 4, "desired": 4}  # the old min back
    groups = deployer.groups()
    assert set(groups) == {"myapp-prod-v000", "myapp-prod-v001"}
    assert groups["myapp-prod-v001"]["DesiredCapacity"] == 4 and len(groups["myapp-prod-v001"]["Instances"]) == 4
    assert groups["myapp-prod-v000"]["DesiredCapacity"] == 0  # scaled down
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v000")
    assert world.target_ids() == {i["InstanceId"] for i in groups["myapp-prod-v001"]["Instances"]}


async def test_a_failing_step_rolls_back_to_the_old_group(deployer: Deployer) -> None:  # noqa: F811
    world = deployer.world
    first = cluster(world, imageId=world.image_id, capacity={"min": 1, "max": 2, "desired": 2})
    assert (await deployer.run([{"refId": "d", "type": "deploy", "clusters": [first]}]))["status"] == "SUCCEEDED"
    rolling = cluster(
        world,
        imageId=world.image_id,
        capacity={"min": 1, "max": 2, "desired": 2},
        strategy="rollingredblack",
        targetPercentages=[50],
        rollback={"onFailure": True},
        # the validation pipeline does not exist: the step after the first grow fails
        pipelineBeforeCleanup={"application": "myapp", "pipelineId": "no-such-pipeline"},
    )
    failed = await deployer.run([{"refId": "d", "type": "deploy", "clusters": [rolling]}])
    assert failed["status"] == "TERMINAL", failed
    steps = _strategy(failed)
    assert [name for name, _ in steps] == [
        "Pin myapp-prod-v000",
        "Grow to 50% of Desired Size",
        "Run Validation Pipeline",
        "rollback myapp-prod-v001",
        "Unpin myapp-prod-v000",
    ]
    assert steps[2][1] == "TERMINAL" and steps[3][1] == "SUCCEEDED" and steps[4][1] == "SUCCEEDED", steps
    groups = deployer.groups()
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v000")  # the old group serves again
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v001")
    assert groups["myapp-prod-v000"]["MinSize"] == 1 and groups["myapp-prod-v000"]["DesiredCapacity"] == 2


async def test_rolling_red_black_on_gce(run: Any, gce_world: GceWorld, gce_cloud: Any) -> None:  # noqa: F811
    base = {
        "application": "myapp",
        "stack": "prod",
        "account": "gce-test",
        "cloudProvider": "gce",
        "region": GCE_REGION,
        "distributionPolicy": {"zones": GCE_ZONES},
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "instanceType": "e2-small",
        "imageId": gce_world.image,
        "loadBalancers": [GCE_LB],
        "interestingHealthProviderNames": ["Google"],
    }
    assert (await run([{"refId": "d", "type": "deploy", "clusters": [base]}]))["status"] == "SUCCEEDED"
    rolling = {**base, "strategy": "rollingredblack", "targetPercentages": [50, 100]}
    done = await run([{"refId": "d", "type": "deploy", "clusters": [rolling]}])
    assert done["status"] == "SUCCEEDED", done
    assert [name for name, _ in _strategy(done)] == [
        "Pin myapp-prod-v000",
        "Grow to 50% of Desired Size",
        "Disable 50% of Traffic on myapp-prod-v000",  # GCE cannot: the old group serves whole until 100
        "Grow to 100% of Desired Size",
        "Disable 100% of Traffic on myapp-prod-v000",
        "Unpin myapp-prod-v000",
    ]
    old = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-prod-v000")
    new = gce_cloud.server_group("gce-test", GCE_REGION, "myapp-prod-v001")
    assert old.disabled and not new.disabled and new.capacity.desired == 2
    assert old.capacity.desired == 2  # no scaleDown: the old group keeps its instances, unpinned
    members = gce_world.pool_members()
    assert members and all("myapp-prod-v001" in m for m in members)
