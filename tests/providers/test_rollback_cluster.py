"""``rollbackCluster`` (Orca's ``RollbackClusterStage`` + ``DetermineRollbackCandidatesTask``) and
``rollbackServerGroup`` with ``rollbackType: PREVIOUS_IMAGE`` (Orca's ``PreviousImageRollback``): the candidate
rules as tables, the after-stages as Orca builds them, and both through the engine on moto's server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.aws import AwsCloud
from providers.base import Capacity
from providers.targets import TargetError, rollback_candidates, rollback_healthy_percentage
from tests.providers.aws_fixtures import REGION, AwsWorld
from tests.providers.test_aws import request
from tests.providers.test_deploy_pipeline import Deployer, cluster, deployer  # noqa: F401 - the engine fixture
from tests.providers.test_targets import group
from workflows.stages.server_groups import RollbackClusterStage, RollbackServerGroupStage


def _names(chosen: Any) -> Any:
    return None if chosen is None else (chosen[0].name[-4:], chosen[1][-4:])


@pytest.mark.parametrize(
    ("groups", "kw", "expected"),
    [
        ([group(1, up=2), group(2, up=2)], {}, ("v002", "v001")),
        ([group(1, up=2, disabled=True), group(2, up=2)], {}, ("v002", "v001")),  # a disabled one is restored
        ([group(1, up=2), group(2, up=2), group(3, up=2, disabled=True)], {}, ("v002", "v003")),  # newest other
        ([group(1, up=2), group(2, up=2, disabled=True), group(3, up=2)], {"only_enabled": True}, ("v003", "v001")),
        ([group(1, up=2), group(2, up=2)], {"original": "app-prod-v042"}, ("v002", "v042")),  # originalServerGroup
        ([group(1, up=2)], {}, None),  # one group: nothing to roll back to, the region is skipped
        ([group(1, disabled=True), group(2, disabled=True)], {}, None),  # none enabled: skipped
        ([], {}, None),
    ],
)
def test_rollback_candidates(groups: list[Any], kw: dict[str, Any], expected: Any) -> None:
    assert _names(rollback_candidates(groups, **kw)) == expected


def test_only_enabled_candidates_with_one_enabled_group_fail_as_orca_does() -> None:
    with pytest.raises(TargetError, match="no server group to roll back"):
        rollback_candidates([group(1, disabled=True), group(2, up=1)], only_enabled=True)


@pytest.mark.parametrize(
    ("desired", "override", "expected"),
    [(None, None, 100), (4, None, 100), (9, None, 100), (10, None, 90), (19, None, 90), (20, None, 95), (4, 50, 50)],
)
def test_rollback_healthy_percentage_follows_decks_rule(desired: int | None, override: Any, expected: int) -> None:
    assert rollback_healthy_percentage(desired, override) == expected


def test_rollback_cluster_builds_one_rollback_per_region_with_waits_between() -> None:
    context = {
        "credentials": "test",
        "cloudProvider": "aws",
        "regions": ["us-east-1", "eu-west-1", "us-west-2"],
        "waitTimeBetweenRegions": 30,
        "additionalRollbackContext": {"enableAndDisableOnly": True},
        "interestingHealthProviderNames": ["Amazon"],
        # eu-west-1 had nothing to roll back to: no type for it
        "rollbackTypes": {"us-east-1": "EXPLICIT", "us-west-2": "EXPLICIT"},
        "rollbackContexts": {
            "us-east-1": {"rollbackServerGroupName": "a-v002", "restoreServerGroupName": "a-v001"},
            "us-west-2": {"rollbackServerGroupName": "a-v005", "restoreServerGroupName": "a-v004"},
        },
    }
    stages = RollbackClusterStage().after_stages(context)
    assert [(s.type, s.name) for s in stages] == [
        ("rollbackServerGroup", "Rollback us-east-1"),
        ("wait", "Wait after us-east-1"),
        ("rollbackServerGroup", "Rollback us-west-2"),
    ]
    first = stages[0].context
    assert first["rollbackType"] == "EXPLICIT" and first["region"] == "us-east-1" and first["credentials"] == "test"
    assert first["rollbackContext"] == {
        "rollbackServerGroupName": "a-v002",
        "restoreServerGroupName": "a-v001",
        "enableAndDisableOnly": True,
    }
    assert first["interestingHealthProviderNames"] == ["Amazon"]
    assert stages[1].context == {"waitTime": 30}
    assert RollbackClusterStage().after_stages({"regions": ["us-east-1"]}) == []  # not decided: nothing


def test_previous_image_rollback_only_decides_then_clones() -> None:
    stage = RollbackServerGroupStage()
    assert [t.name for t in stage.tasks({"rollbackType": "PREVIOUS_IMAGE"})] == ["determineRollback"]
    assert len(stage.tasks({"rollbackType": "EXPLICIT"})) == 5
    clone = {"strategy": "none", "imageId": "ami-1"}
    disable = {"cluster": "app-prod", "remainingEnabledServerGroups": 1}
    plan = {"clone": clone, "disableCluster": disable, "delayBeforeDisableSec": 5, "region": "us-east-1"}
    after = stage.after_stages({"rollbackType": "PREVIOUS_IMAGE", "rollbackPlan": plan})
    assert [(s.type, s.name, s.context) for s in after] == [
        ("cloneServerGroup", "clone", clone),
        ("wait", "waitBeforeDisable", {"waitTime": 5}),
        ("disableCluster", "disableCluster app-prod in us-east-1", disable),
    ]
    assert stage.after_stages({"rollbackType": "EXPLICIT", "rollbackPlan": {"clone": clone}}) == []


def test_previous_image_from_the_launch_template_history(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    made = aws_cloud.create_server_group(request(aws_world, capacity=Capacity(1, 1, 1)))
    assert aws_cloud.previous_image("test", REGION, made.name) is None  # never ran another image
    ec2 = aws_world.ec2
    template = made.launch_config["launchTemplateId"]
    version = ec2.create_launch_template_version(
        LaunchTemplateId=template, SourceVersion="1", LaunchTemplateData={"ImageId": aws_world.old_image_id}
    )["LaunchTemplateVersion"]["VersionNumber"]
    aws_world.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=made.name, LaunchTemplate={"LaunchTemplateId": template, "Version": str(version)}
    )
    assert aws_cloud.previous_image("test", REGION, made.name) == aws_world.image_id
    assert aws_cloud.previous_image("test", REGION, "myapp-prod-v042") is None


@pytest.mark.temporal
async def test_rollback_cluster_restores_the_previous_group(deployer: Deployer) -> None:  # noqa: F811
    world = deployer.world
    rb = cluster(world, imageId=world.image_id, strategy="redblack")
    for _ in range(2):
        assert (await deployer.run([{"refId": "d", "type": "deploy", "clusters": [rb]}]))["status"] == "SUCCEEDED"
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v000")
    stage = {
        "refId": "r",
        "type": "rollbackCluster",
        "cloudProvider": "aws",
        "credentials": "test",
        "moniker": {"app": "myapp", "cluster": "myapp-prod", "stack": "prod"},
        "regions": [REGION, "us-west-2"],  # nothing deployed in us-west-2: skipped, as Orca does
        "targetHealthyRollbackPercentage": 100,
    }
    done = await deployer.run([stage], name="rollback cluster")
    assert done["status"] == "SUCCEEDED", done
    main = done["stages"][0]
    assert main["outputs"]["rollbackTypes"] == {REGION: "EXPLICIT"}
    assert main["outputs"]["rollbackContexts"][REGION] == {
        "rollbackServerGroupName": "myapp-prod-v001",
        "restoreServerGroupName": "myapp-prod-v000",
        "targetHealthyRollbackPercentage": 100,
    }
    assert [(s["name"], s["status"]) for s in done["stages"] if s.get("parentStageId")] == [
        (f"Rollback {REGION}", "SUCCEEDED")
    ]
    assert "AddToLoadBalancer" not in world.suspended("myapp-prod-v000")
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v001")
    restored = deployer.groups()["myapp-prod-v000"]
    assert world.target_ids() == {i["InstanceId"] for i in restored["Instances"]}

    bad = await deployer.run([{**stage, "regions": []}], name="no regions")
    assert bad["status"] == "TERMINAL" and "regions" in json.dumps(bad["stages"][0]["context"]["exception"])


@pytest.mark.temporal
async def test_previous_image_rollback_deploys_the_old_image_red_black(deployer: Deployer) -> None:  # noqa: F811
    world = deployer.world
    rb = cluster(world, imageId=world.image_id, strategy="redblack")
    assert (await deployer.run([{"refId": "d", "type": "deploy", "clusters": [rb]}]))["status"] == "SUCCEEDED"
    stage = {
        "refId": "r",
        "type": "rollbackServerGroup",
        "rollbackType": "PREVIOUS_IMAGE",
        "cloudProvider": "aws",
        "credentials": "test",
        "regions": [REGION],
        "subnetType": "internal",
        "rollbackContext": {"rollbackServerGroupName": "myapp-prod-v000", "imageName": "myapp-0.9.0-h1"},
    }
    done = await deployer.run([stage], name="rollback to the previous image")
    assert done["status"] == "SUCCEEDED", done
    assert [(s["type"], s["status"]) for s in done["stages"] if s.get("parentStageId")] == [
        ("cloneServerGroup", "SUCCEEDED"),
        ("disableCluster", "SUCCEEDED"),
    ]
    groups = deployer.groups()
    assert set(groups) == {"myapp-prod-v000", "myapp-prod-v001"}
    assert "AddToLoadBalancer" in world.suspended("myapp-prod-v000")  # red/black disabled the rolled-back group
    new_ids = {i["InstanceId"] for i in groups["myapp-prod-v001"]["Instances"]}
    assert world.target_ids() == new_ids and len(new_ids) == 2  # the source's capacity and target groups
    runs = world.ec2.describe_instances(InstanceIds=sorted(new_ids))["Reservations"][0]["Instances"][0]["ImageId"]
    assert runs == world.old_image_id

    no_image = {**stage, "rollbackContext": {"rollbackServerGroupName": "myapp-prod-v001"}}
    failed = await deployer.run([no_image], name="no image")  # v001 never ran another image
    assert failed["status"] == "TERMINAL"
    assert "rollbackContext.imageName" in json.dumps(failed["stages"][0]["context"]["exception"])
