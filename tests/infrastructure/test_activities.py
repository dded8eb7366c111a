"""The infrastructure activities as a retrying worker calls them: the same task twice makes one resource
(a new scaling policy's name comes from the execution and stage), and bad input names the field."""

from __future__ import annotations

from typing import Any

from activities.deploy_base import ProviderSessions
from activities.infrastructure import InfrastructureActivities
from core.status import ExecutionStatus
from tests.providers.aws_fixtures import REGION, AwsWorld
from workflows.stages.base import TaskInput


def _input(stage_type: str, context: dict[str, Any]) -> TaskInput:
    return TaskInput("exec-1", "myapp", "stage-1", "1", stage_type, stage_type, context, 0, 0)


def test_a_retried_create_makes_one_policy(aws_cloud: Any, aws_world: AwsWorld) -> None:
    world = aws_world
    world.templated_group("myapp-v000")
    acts = InfrastructureActivities(ProviderSessions({"aws": aws_cloud}))
    context = {
        "credentials": "test",
        "region": REGION,
        "serverGroupName": "myapp-v000",
        "targetTrackingConfiguration": {
            "targetValue": 40,
            "predefinedMetricSpecification": {"predefinedMetricType": "ASGAverageCPUUtilization"},
        },
    }
    first = acts.upsert_scaling_policy(_input("upsertScalingPolicy", context))
    second = acts.upsert_scaling_policy(_input("upsertScalingPolicy", context))
    assert first.status == second.status == ExecutionStatus.SUCCEEDED
    assert first.context == second.context
    policies = world.autoscaling.describe_policies(AutoScalingGroupName="myapp-v000")["ScalingPolicies"]
    assert len(policies) == 1 and policies[0]["PolicyName"].startswith("myapp-v000-policy-")

    actions = {
        "credentials": "test",
        "asgs": [{"asgName": "myapp-v000", "region": REGION}],
        "scheduledActions": [{"recurrence": "0 6 * * *", "minSize": 1, "maxSize": 1, "desiredCapacity": 1}],
    }
    for _ in range(2):
        assert (
            acts.upsert_scheduled_actions(_input("upsertAsgScheduledActions", actions)).status
            == ExecutionStatus.SUCCEEDED
        )
    found = world.autoscaling.describe_scheduled_actions(AutoScalingGroupName="myapp-v000")
    assert len(found["ScheduledUpdateGroupActions"]) == 1
    deleted = acts.delete_scheduled_actions(
        _input("deleteAsgScheduledActions", {k: v for k, v in actions.items() if k != "scheduledActions"})
    )
    assert deleted.context == {"deletedScheduledActions": {"myapp-v000": ["myapp-v000-schedule-0"]}}


def test_bad_input_is_terminal_naming_the_field(aws_cloud: Any, aws_world: AwsWorld) -> None:
    acts = InfrastructureActivities(ProviderSessions({"aws": aws_cloud}))
    missing = acts.upsert_security_group(_input("upsertSecurityGroup", {"regions": [REGION], "name": "x"}))
    assert missing.status == ExecutionStatus.TERMINAL and "credentials" in (missing.error or "")
    no_policy = acts.delete_scaling_policy(
        _input("deleteScalingPolicy", {"credentials": "test", "region": REGION, "serverGroupName": "g"})
    )
    assert no_policy.status == ExecutionStatus.TERMINAL and "policyName" in (no_policy.error or "")
    gone = acts.upsert_scaling_policy(
        _input(
            "upsertScalingPolicy",
            {"credentials": "test", "region": REGION, "serverGroupName": "nope", "simple": {"scalingAdjustment": 1}},
        )
    )
    assert gone.status == ExecutionStatus.TERMINAL and "serverGroupName: nope not found" in (gone.error or "")


def test_update_launch_template_converges(aws_cloud: Any, aws_world: AwsWorld) -> None:
    world = aws_world
    world.templated_group("myapp-v001", template={"ImageId": world.old_image_id, "InstanceType": "t3.micro"})
    acts = InfrastructureActivities(ProviderSessions({"aws": aws_cloud}))
    context = {
        "credentials": "test",
        "region": REGION,
        "serverGroupName": "myapp-v001",
        "amiName": world.image_name,
        "instanceType": "t3.large",
        "securityGroups": ["myapp"],
    }
    first = acts.update_launch_template(_input("updateLaunchTemplate", context))
    second = acts.update_launch_template(_input("updateLaunchTemplate", context))  # a retry: no third version
    assert first.status == second.status == ExecutionStatus.SUCCEEDED, first.error
    assert first.context["launchTemplates"][0]["launchTemplateVersion"] == 2
    assert second.context["launchTemplates"][0]["launchTemplateVersion"] == 2
    versions = world.ec2.describe_launch_template_versions(LaunchTemplateName="myapp-v001")["LaunchTemplateVersions"]
    assert len(versions) == 2
    latest = max(versions, key=lambda v: v["VersionNumber"])["LaunchTemplateData"]
    assert (latest["ImageId"], latest["InstanceType"]) == (world.image_id, "t3.large")
    assert latest["SecurityGroupIds"] == [world.security_group_id]
    group = world.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["myapp-v001"])["AutoScalingGroups"]
    assert group[0]["LaunchTemplate"]["Version"] == "2"
    nothing = acts.update_launch_template(
        _input("updateLaunchTemplate", {**context, "amiName": None, "instanceType": None, "securityGroups": None})
    )
    assert nothing.status == ExecutionStatus.TERMINAL and "imageId" in (nothing.error or "")
