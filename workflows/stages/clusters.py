"""Cluster-wide operations, on every group of a cluster but the ones to keep (Orca's
``AbstractClusterWideClouddriverTask``): ``disableCluster``, ``shrinkCluster``, ``scaleDownCluster``.
The groups to act on are chosen once per region and kept in ``clusterTargets``."""

from __future__ import annotations

from .base import JSON, StageDefinition, TaskSpec

ORCA = "com.netflix.spinnaker.orca.clouddriver.tasks.cluster."


class _ClusterStage(StageDefinition):
    task = ""
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        name = ORCA + self.task[0].upper() + self.task[1:] + "Task"
        # the activity heartbeats (core/tasks.py HEARTBEATING_ACTIVITIES): a dead worker is noticed in seconds
        return [TaskSpec(self.task, name, activity="cluster_operate")]


class DisableClusterStage(_ClusterStage):
    type = "disableCluster"
    task = "disableCluster"


class ShrinkClusterStage(_ClusterStage):
    type = "shrinkCluster"
    task = "shrinkCluster"


class ScaleDownClusterStage(_ClusterStage):
    type = "scaleDownCluster"
    task = "scaleDownCluster"
