"""The ``runJobManifest`` stage (Orca's ``RunJobStage`` with the Kubernetes decorator).

Tasks, as Orca plans them for Kubernetes: ``runJob`` (create the Job, exactly once) and, with
``waitForCompletion`` (the default), ``waitOnJobCompletion`` (poll the Job every 10 s for at most 2 h; on success
read the ``propertyFile`` container's log into outputs), then ``consumeArtifact`` when
``consumeArtifactSource: propertyFile``. Canceling the stage deletes the Job. The Kubernetes calls live in
``activities/run_job.py``; this module is pure so it runs inside the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from core.status import ExecutionStatus
from core.tasks import DELETE_KUBERNETES_JOB, RUN_KUBERNETES_JOB, WAIT_ON_KUBERNETES_JOB

from .base import JSON, StageDefinition, TaskResult, TaskRuntime, TaskSpec

#: every activity the stage calls (``activities/run_job.py`` registers them)
ACTIVITY_NAMES = (RUN_KUBERNETES_JOB, WAIT_ON_KUBERNETES_JOB, DELETE_KUBERNETES_JOB)

_TASKS = "com.netflix.spinnaker.orca.clouddriver.tasks"
RUN_JOB_CLASS = f"{_TASKS}.job.RunJobTask"
WAIT_CLASS = f"{_TASKS}.job.WaitOnJobCompletion"
CONSUME_CLASS = f"{_TASKS}.artifacts.ConsumeArtifactTask"

#: RunJobTask is a RetryableTask (5 s backoff, 1 min)
RUN_BACKOFF = timedelta(seconds=5)
RUN_TIMEOUT = timedelta(minutes=1)
#: WaitOnJobCompletion: every 10 s, for at most 2 h
WAIT_BACKOFF = timedelta(seconds=10)
WAIT_TIMEOUT = timedelta(hours=2)
CALL_TIMEOUT = timedelta(minutes=2)

#: what runJob records, and what a restart forgets so the restarted stage creates a new Job
JOB_KEYS = ("jobName", "deploy.jobs", "jobUid", "jobStatus", "completionDetails", "propertyFileContents")


def wait_for_completion(context: Mapping[str, Any]) -> bool:
    value = context.get("waitForCompletion")
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return value is not False


async def _consume_artifact(runtime: TaskRuntime) -> TaskResult:
    """``ConsumeArtifactTask`` for ``consumeArtifactSource: propertyFile``: the ``artifacts`` list the job printed
    (in its ``SPINNAKER_CONFIG_JSON``) becomes the stage's output artifacts."""
    contents = runtime.context.get("propertyFileContents")
    found = contents.get("artifacts") if isinstance(contents, Mapping) else None
    if not isinstance(found, list) or not all(isinstance(a, Mapping) for a in found):
        return TaskResult.terminal(
            "consumeArtifactSource propertyFile: the job's properties hold no `artifacts` list of artifacts"
        )
    return TaskResult(ExecutionStatus.SUCCEEDED, outputs={"artifacts": [dict(a) for a in found]})


class RunJobManifestStage(StageDefinition):
    """Run one Kubernetes Job from a manifest, wait for it, and turn its log's properties into outputs."""

    type = "runJobManifest"
    mutates_account = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        specs = [
            TaskSpec(
                "runJob",
                RUN_JOB_CLASS,
                activity=RUN_KUBERNETES_JOB,
                polling=True,  # the first call decides the Job's name, the second creates it
                backoff=RUN_BACKOFF,
                timeout=RUN_TIMEOUT,
                on_cancel=DELETE_KUBERNETES_JOB,
                start_to_close=CALL_TIMEOUT,
            )
        ]
        if wait_for_completion(context):
            specs.append(
                TaskSpec(
                    "waitOnJobCompletion",
                    WAIT_CLASS,
                    activity=WAIT_ON_KUBERNETES_JOB,
                    polling=True,
                    backoff=WAIT_BACKOFF,
                    timeout=WAIT_TIMEOUT,
                    on_cancel=DELETE_KUBERNETES_JOB,
                    start_to_close=CALL_TIMEOUT,
                )
            )
            if str(context.get("consumeArtifactSource") or "").lower() == "propertyfile":
                specs.append(TaskSpec("consumeArtifact", CONSUME_CLASS, run=_consume_artifact))
        return specs

    def prepare_for_restart(self, context: JSON) -> None:
        for key in JOB_KEYS:
            context.pop(key, None)
