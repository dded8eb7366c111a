"""Clouddriver's infrastructure stages, as Orca runs them: ``upsertSecurityGroup``/``deleteSecurityGroup``,
``upsertLoadBalancer``/``deleteLoadBalancer``, ``upsertScalingPolicy``/``deleteScalingPolicy``,
``upsertAsgScheduledActions``/``deleteAsgScheduledActions``, ``upsertImageTags`` and ``updateLaunchTemplate``.
Each runs its operation (an idempotent activity, ``activities/infrastructure.py``), then refreshes the cloud cache
(Orca's force-refresh task). All act on the account they name: WRITE on it is checked first."""

from __future__ import annotations

from .base import JSON, StageDefinition, TaskSpec

ORCA = "com.netflix.spinnaker.orca.clouddriver.tasks."


class _InfraStage(StageDefinition):
    mutates_account = True
    #: (task name, Orca's class under ``ORCA``, activity)
    operation: tuple[str, str, str] = ("", "", "")
    refresh_class = "CloudProviderForceCacheRefreshTask"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        name, cls, activity = self.operation
        return [
            TaskSpec(name, ORCA + cls, activity=activity),
            TaskSpec("forceCacheRefresh", ORCA + self.refresh_class, activity="infra_refresh_cache"),
        ]


class UpsertSecurityGroupStage(_InfraStage):
    type = "upsertSecurityGroup"
    operation = ("upsertSecurityGroup", "securitygroup.UpsertSecurityGroupTask", "infra_upsert_security_group")
    refresh_class = "securitygroup.SecurityGroupForceCacheRefreshTask"


class DeleteSecurityGroupStage(_InfraStage):
    type = "deleteSecurityGroup"
    operation = ("deleteSecurityGroup", "securitygroup.DeleteSecurityGroupTask", "infra_delete_security_group")
    refresh_class = "securitygroup.SecurityGroupForceCacheRefreshTask"


class UpsertLoadBalancerStage(_InfraStage):
    type = "upsertLoadBalancer"
    operation = ("upsertLoadBalancer", "loadbalancer.UpsertLoadBalancerTask", "infra_upsert_load_balancer")
    refresh_class = "loadbalancer.UpsertLoadBalancerForceRefreshTask"


class DeleteLoadBalancerStage(_InfraStage):
    type = "deleteLoadBalancer"
    operation = ("deleteLoadBalancer", "loadbalancer.DeleteLoadBalancerTask", "infra_delete_load_balancer")
    refresh_class = "loadbalancer.DeleteLoadBalancerForceRefreshTask"


class UpsertScalingPolicyStage(_InfraStage):
    type = "upsertScalingPolicy"
    operation = ("upsertScalingPolicy", "scalingpolicy.UpsertScalingPolicyTask", "infra_upsert_scaling_policy")


class DeleteScalingPolicyStage(_InfraStage):
    type = "deleteScalingPolicy"
    operation = ("deleteScalingPolicy", "scalingpolicy.DeleteScalingPolicyTask", "infra_delete_scaling_policy")


class UpsertAsgScheduledActionsStage(_InfraStage):
    type = "upsertAsgScheduledActions"
    operation = (
        "upsertAsgScheduledActions",
        "servergroup.UpsertAsgScheduledActionsTask",
        "infra_upsert_scheduled_actions",
    )


class DeleteAsgScheduledActionsStage(_InfraStage):
    type = "deleteAsgScheduledActions"
    operation = (
        "deleteAsgScheduledActions",
        "servergroup.DeleteAsgScheduledActionsTask",
        "infra_delete_scheduled_actions",
    )


class UpsertImageTagsStage(_InfraStage):
    type = "upsertImageTags"
    operation = ("upsertImageTags", "image.UpsertImageTagsTask", "infra_upsert_image_tags")
    refresh_class = "image.ImageForceCacheRefreshTask"


class UpdateLaunchTemplateStage(_InfraStage):
    """Orca's ``updateLaunchTemplate`` (Clouddriver's ``modifyServerGroupLaunchTemplate``, the launch template
    successor of ``modifyAsgLaunchConfiguration``)."""

    type = "updateLaunchTemplate"
    operation = (
        "modifyServerGroupLaunchTemplate",
        "servergroup.UpdateLaunchTemplateTask",
        "infra_update_launch_template",
    )
