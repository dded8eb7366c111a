"""Kubernetes manifest stages: ``deployManifest``, ``deleteManifest``, ``scaleManifest``, ``patchManifest``,
``undoRolloutManifest`` (Orca's ``clouddriver.tasks.manifest`` tasks; activities in activities/manifest*.py).

Clouddriver's operation and Orca's ``monitorKatoTask`` are one activity here (the API server answers at once);
the stages wait for stable where Orca does (deploy, scale, patch, undo), polling every 5 s for up to 30 minutes.
"""

from __future__ import annotations

from datetime import timedelta

from .base import JSON, StageDefinition, TaskSpec

ORCA = "com.netflix.spinnaker.orca.clouddriver.tasks.manifest."


def _wait_stable() -> TaskSpec:
    return TaskSpec(
        "waitForManifestToStabilize",
        ORCA + "WaitForManifestStableTask",
        activity="manifest_wait_stable",
        polling=True,
        backoff=timedelta(seconds=5),
        timeout=timedelta(minutes=30),
    )


def _resolve() -> TaskSpec:
    return TaskSpec("resolveTarget", ORCA + "ResolveTargetManifestTask", activity="manifest_resolve_target")


class DeployManifestStage(StageDefinition):
    type = "deployManifest"
    mutates_account = True
    #: the versions and objects a deploy chose; a restart forgets them, so it deploys the next version
    RESTART_FORGETS = ("manifest.versions", "outputs.manifests", "outputs.manifestNamesByNamespace", "manifest.targets")

    def prepare_for_restart(self, context: JSON) -> None:
        for key in self.RESTART_FORGETS:
            context.pop(key, None)

    def tasks(self, context: JSON) -> list[TaskSpec]:
        specs = [
            TaskSpec("deployManifest", ORCA + "DeployManifestTask", activity="manifest_deploy"),
            _wait_stable(),
        ]
        traffic = context.get("trafficManagement")
        if isinstance(traffic, dict) and traffic.get("enabled"):
            specs.append(TaskSpec("manageTraffic", ORCA + "ManifestTrafficTask", activity="manifest_traffic"))
        return specs


class DeleteManifestStage(StageDefinition):
    type = "deleteManifest"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [_resolve(), TaskSpec("deleteManifest", ORCA + "DeleteManifestTask", activity="manifest_delete")]


class ScaleManifestStage(StageDefinition):
    type = "scaleManifest"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _resolve(),
            TaskSpec("scaleManifest", ORCA + "ScaleManifestTask", activity="manifest_scale"),
            _wait_stable(),
        ]


class PatchManifestStage(StageDefinition):
    type = "patchManifest"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _resolve(),
            TaskSpec("patchManifest", ORCA + "PatchManifestTask", activity="manifest_patch"),
            _wait_stable(),
        ]


class UndoRolloutManifestStage(StageDefinition):
    type = "undoRolloutManifest"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            _resolve(),
            TaskSpec("undoRolloutManifest", ORCA + "UndoRolloutManifestTask", activity="manifest_undo_rollout"),
            _wait_stable(),
        ]
