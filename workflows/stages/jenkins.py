"""The ``jenkins`` stage (Orca's ``JenkinsStage``/``CIStage``), the legacy ``script`` stage (``ScriptStage``)
and ``getProperties`` (``GetPropertiesStage``, the on-failure stage that still fetches the property file).

Tasks, as Orca plans them: ``startJenkinsJob`` → ``waitForJenkinsJobStart`` and, with
``waitForCompletion`` (the default), ``monitorJenkinsJob`` → ``getBuildProperties`` →
``getBuildArtifacts``. Every task stops the build (or takes it out of the queue) when the stage is
canceled. The Jenkins calls live in ``activities/jenkins.py``; this module is pure so it runs inside
the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from core.status import ExecutionStatus
from core.tasks import (
    GET_BUILD_PROPERTIES,
    MONITOR_JENKINS_JOB,
    START_JENKINS_JOB,
    START_SCRIPT,
    STOP_JENKINS_JOB,
    WAIT_FOR_JENKINS_JOB_START,
    has_property_file,
)

from .base import JSON, StageDefinition, SyntheticStage, TaskResult, TaskRuntime, TaskSpec

#: every activity the Jenkins stages call (``activities/jenkins.py`` registers them)
ACTIVITY_NAMES = (
    START_JENKINS_JOB,
    START_SCRIPT,
    WAIT_FOR_JENKINS_JOB_START,
    MONITOR_JENKINS_JOB,
    GET_BUILD_PROPERTIES,
    STOP_JENKINS_JOB,
)

_TASKS = "com.netflix.spinnaker.orca.igor.tasks"
START_JOB_CLASS = f"{_TASKS}.StartJenkinsJobTask"
START_SCRIPT_CLASS = f"{_TASKS}.StartScriptTask"
WAIT_FOR_START_CLASS = f"{_TASKS}.MonitorQueuedJenkinsJobTask"
MONITOR_CLASS = f"{_TASKS}.MonitorJenkinsJobTask"
PROPERTIES_CLASS = f"{_TASKS}.GetBuildPropertiesTask"
ARTIFACTS_CLASS = f"{_TASKS}.GetBuildArtifactsTask"

#: StartJenkinsJobTask / StartScriptTask: 30 s backoff, 15 min timeout
START_BACKOFF = timedelta(seconds=30)
START_TIMEOUT = timedelta(minutes=15)
#: MonitorQueuedJenkinsJobTask and MonitorJenkinsJobTask: every 10 s, for at most 2 h
MONITOR_BACKOFF = timedelta(seconds=10)
MONITOR_TIMEOUT = timedelta(hours=2)
#: RetryableIgorTask (GetBuildPropertiesTask): 1 min
PROPERTIES_TIMEOUT = timedelta(minutes=1)
#: one activity call: a few HTTP calls, each bounded by the master's timeout (30 s by default)
CALL_TIMEOUT = timedelta(minutes=2)

#: the on-failure stage CIStage adds when a ``propertyFile`` is set
GET_PROPERTIES_STAGE = "getProperties"
GET_PROPERTIES_STAGE_NAME = "Try to get properties file"


def wait_for_completion(context: Mapping[str, Any]) -> bool:
    """``waitForCompletion``, true unless it is false (or the text "false", as Orca reads it)."""
    value = context.get("waitForCompletion")
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return value is not False and value != 0


def prepare_for_restart(context: JSON) -> None:
    """``CIStage.prepareStageForRestart``: keep the last build as ``restartDetails.previousBuildInfo`` and
    forget it, so the restarted stage starts a new build."""
    build_info = context.get("buildInfo")
    if build_info is not None:
        details = context.get("restartDetails")
        if not isinstance(details, dict):
            details = context["restartDetails"] = {}
        details["previousBuildInfo"] = build_info
    for key in ("queuedBuild", "buildInfo", "buildNumber", "nextBuildNumber"):
        context.pop(key, None)


def _task(name: str, cls: str, activity: str, **kw: Any) -> TaskSpec:
    return TaskSpec(name, cls, activity=activity, on_cancel=STOP_JENKINS_JOB, start_to_close=CALL_TIMEOUT, **kw)


def start_task(name: str, cls: str, activity: str) -> TaskSpec:
    # polling: the first call reads the job and records its nextBuildNumber, the second starts it
    return _task(name, cls, activity, polling=True, backoff=START_BACKOFF, timeout=START_TIMEOUT)


def wait_for_start_task(name: str) -> TaskSpec:
    return _task(
        name,
        WAIT_FOR_START_CLASS,
        WAIT_FOR_JENKINS_JOB_START,
        polling=True,
        backoff=MONITOR_BACKOFF,
        timeout=MONITOR_TIMEOUT,
        overridable_timeout=True,
    )


def monitor_task(name: str) -> TaskSpec:
    return _task(
        name,
        MONITOR_CLASS,
        MONITOR_JENKINS_JOB,
        polling=True,
        backoff=MONITOR_BACKOFF,
        timeout=MONITOR_TIMEOUT,
        overridable_timeout=True,
    )


def properties_task(name: str = "getBuildProperties") -> TaskSpec:
    return TaskSpec(
        name,
        PROPERTIES_CLASS,
        activity=GET_BUILD_PROPERTIES,
        timeout=PROPERTIES_TIMEOUT,
        start_to_close=PROPERTIES_TIMEOUT,
    )


def decorated_artifacts(build_info: Any) -> list[JSON]:
    """``GetBuildArtifactsTask``: the ``buildInfo`` artifacts Igor decorated (deb/rpm details)."""
    if not isinstance(build_info, Mapping):
        return []
    found = []
    for artifact in build_info.get("artifacts") or []:
        if not isinstance(artifact, Mapping):
            continue
        metadata = artifact.get("metadata") if isinstance(artifact.get("metadata"), Mapping) else {}
        if artifact.get("decorated") is True or (metadata or {}).get("decorated") is True:
            found.append(dict(artifact))
    return found


async def _get_build_artifacts(runtime: TaskRuntime) -> TaskResult:
    # Igor would add the artifacts its Jinja templates extract from a property file's messageFormat;
    # Gennaker does not run those templates, so only decorated build artifacts are left.
    return TaskResult(
        ExecutionStatus.SUCCEEDED, outputs={"artifacts": decorated_artifacts(runtime.context.get("buildInfo"))}
    )


class JenkinsStage(StageDefinition):
    """Orca's ``JenkinsStage``: start a job with ``parameters`` on ``master``, wait for it, read its results."""

    type = "jenkins"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        specs = [
            start_task("startJenkinsJob", START_JOB_CLASS, START_JENKINS_JOB),
            wait_for_start_task("waitForJenkinsJobStart"),
        ]
        if wait_for_completion(context):
            specs += [
                monitor_task("monitorJenkinsJob"),
                properties_task(),
                TaskSpec("getBuildArtifacts", ARTIFACTS_CLASS, run=_get_build_artifacts),
            ]
        return specs

    def on_failure_stages(self, context: JSON) -> list[SyntheticStage]:
        """``CIStage.onFailureStages``: a failed build may still have archived its property file."""
        if not has_property_file(context):
            return []
        return [
            SyntheticStage(
                GET_PROPERTIES_STAGE,
                GET_PROPERTIES_STAGE_NAME,
                {k: context.get(k) for k in ("master", "job", "propertyFile", "buildNumber")},
                "STAGE_AFTER",
            )
        ]

    def prepare_for_restart(self, context: JSON) -> None:
        prepare_for_restart(context)

    def required_permissions(self, context: JSON) -> list[tuple[str, str, str]]:
        master = context.get("master")  # Igor: starting a build needs WRITE on the master
        return [("buildService", master, "WRITE")] if isinstance(master, str) and master else []


class ScriptStage(StageDefinition):
    """Orca's legacy ``ScriptStage``: runs the script job (``script.master``/``script.job`` settings)."""

    type = "script"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        specs = [
            start_task("startScript", START_SCRIPT_CLASS, START_SCRIPT),
            wait_for_start_task("waitForScriptStart"),
        ]
        if wait_for_completion(context):
            specs += [monitor_task("monitorScript"), properties_task()]
        return specs

    def prepare_for_restart(self, context: JSON) -> None:
        prepare_for_restart(context)


class GetPropertiesStage(StageDefinition):
    """Orca's ``GetPropertiesStage``: read a build's property file into the stage's outputs."""

    type = GET_PROPERTIES_STAGE

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [properties_task("getPropertiesFile")]
