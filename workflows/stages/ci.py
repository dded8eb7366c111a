"""The CI stages of the build services beyond Jenkins: ``travis`` (Orca's ``TravisStage``), ``github-actions``
and ``gitlab-ci``, planned as Orca's ``CIStage`` plans every one of them:

``start<Type>Job`` → ``waitFor<Type>JobStart`` and, with ``waitForCompletion`` (the default),
``monitor<Type>Job`` → ``getBuildProperties`` → ``getBuildArtifacts``, with the Jenkins stage's backoffs and
timeouts (start: 30 s / 15 min; waits: every ``ci.poll_interval_s`` for 2 h, ``stageTimeoutMs`` extends them;
properties: 1 min). Every task cancels the remote build when the stage is canceled. The calls live in
``activities/ci.py``; this module is pure so it runs inside the workflow sandbox.
"""

from __future__ import annotations

from typing import Any

from core.messages.ci import (
    BUILD_SERVICE_TYPE,
    GET_CI_BUILD_PROPERTIES,
    GET_CI_PROPERTIES_STAGE,
    GITHUB_ACTIONS,
    GITLAB_CI,
    MONITOR_CI_JOB,
    START_CI_JOB,
    STOP_CI_JOB,
    TRAVIS,
    WAIT_FOR_CI_JOB_START,
)
from core.tasks import JSON, has_property_file

from .base import StageDefinition, SyntheticStage, TaskSpec
from .jenkins import (
    ARTIFACTS_CLASS,
    CALL_TIMEOUT,
    GET_PROPERTIES_STAGE_NAME,
    MONITOR_BACKOFF,
    MONITOR_CLASS,
    MONITOR_TIMEOUT,
    PROPERTIES_CLASS,
    PROPERTIES_TIMEOUT,
    START_BACKOFF,
    START_JOB_CLASS,
    START_TIMEOUT,
    WAIT_FOR_START_CLASS,
    _get_build_artifacts,
    prepare_for_restart,
    wait_for_completion,
)

ACTIVITY_NAMES = (START_CI_JOB, WAIT_FOR_CI_JOB_START, MONITOR_CI_JOB, GET_CI_BUILD_PROPERTIES, STOP_CI_JOB)


def job_type(stage_type: str) -> str:
    """Orca's ``StringUtils.capitalize(getType())`` for task names, without the dash: ``GithubActions``."""
    return "".join(part[:1].upper() + part[1:] for part in stage_type.split("-"))


def _task(name: str, cls: str, activity: str, **kw: Any) -> TaskSpec:
    return TaskSpec(name, cls, activity=activity, on_cancel=STOP_CI_JOB, start_to_close=CALL_TIMEOUT, **kw)


class CiStage(StageDefinition):
    """Orca's ``CIStage`` for one build-service type: start ``job`` on ``master`` with ``parameters``
    (on ``ref``/``branch`` where the service takes one), wait for it, read its result and properties."""

    type = ""

    def tasks(self, context: JSON) -> list[TaskSpec]:
        kind = job_type(self.type)
        specs = [
            _task(
                f"start{kind}Job",
                START_JOB_CLASS,
                START_CI_JOB,
                polling=True,
                backoff=START_BACKOFF,
                timeout=START_TIMEOUT,
            ),
            _task(
                f"waitFor{kind}JobStart",
                WAIT_FOR_START_CLASS,
                WAIT_FOR_CI_JOB_START,
                polling=True,
                backoff=MONITOR_BACKOFF,
                timeout=MONITOR_TIMEOUT,
                overridable_timeout=True,
            ),
        ]
        if wait_for_completion(context):
            specs += [
                _task(
                    f"monitor{kind}Job",
                    MONITOR_CLASS,
                    MONITOR_CI_JOB,
                    polling=True,
                    backoff=MONITOR_BACKOFF,
                    timeout=MONITOR_TIMEOUT,
                    overridable_timeout=True,
                ),
                TaskSpec(
                    "getBuildProperties",
                    PROPERTIES_CLASS,
                    activity=GET_CI_BUILD_PROPERTIES,
                    timeout=PROPERTIES_TIMEOUT,
                    start_to_close=PROPERTIES_TIMEOUT,
                ),
                TaskSpec("getBuildArtifacts", ARTIFACTS_CLASS, run=_get_build_artifacts),
            ]
        return specs

    def on_failure_stages(self, context: JSON) -> list[SyntheticStage]:
        """``CIStage.onFailureStages``: a failed build may still have left its properties."""
        if not has_property_file(context):
            return []
        keys = ("master", "job", "propertyFile", "buildNumber", "buildId")
        return [
            SyntheticStage(
                GET_CI_PROPERTIES_STAGE,
                GET_PROPERTIES_STAGE_NAME,
                {**{k: context.get(k) for k in keys}, BUILD_SERVICE_TYPE: self.type},
                "STAGE_AFTER",
            )
        ]

    def prepare_for_restart(self, context: JSON) -> None:
        prepare_for_restart(context)
        for key in ("buildId", "ciStart"):
            context.pop(key, None)

    def required_permissions(self, context: JSON) -> list[tuple[str, str, str]]:
        master = context.get("master")  # Igor: starting a build needs WRITE on the build service
        return [("buildService", master, "WRITE")] if isinstance(master, str) and master else []


class TravisStage(CiStage):
    """Orca's ``TravisStage``: ``job`` is ``owner/repo/branch``; ``parameters`` become the build's environment."""

    type = TRAVIS


class GitHubActionsStage(CiStage):
    """A GitHub Actions workflow: ``job`` is ``owner/repo/<workflow file>``, ``ref`` the branch or tag,
    ``parameters`` the ``workflow_dispatch`` inputs."""

    type = GITHUB_ACTIONS


class GitLabCiStage(CiStage):
    """A GitLab CI pipeline: ``job`` is the project path, ``ref`` the branch or tag, ``parameters`` its
    variables (the client is ``integrations/ci/gitlab.py``)."""

    type = GITLAB_CI


class GetCiPropertiesStage(StageDefinition):
    """The on-failure stage of a CI stage with a ``propertyFile`` (Orca's ``GetPropertiesStage``, for the
    CI services): read the failed build's properties into outputs."""

    type = GET_CI_PROPERTIES_STAGE

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "getPropertiesFile",
                PROPERTIES_CLASS,
                activity=GET_CI_BUILD_PROPERTIES,
                timeout=PROPERTIES_TIMEOUT,
                start_to_close=PROPERTIES_TIMEOUT,
            )
        ]
