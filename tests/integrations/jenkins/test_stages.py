"""The task plans of the ``jenkins``, ``script`` and ``getProperties`` stages (Orca's CIStage, ScriptStage)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.status import ExecutionStatus as S
from workflows.stages import jenkins as stages
from workflows.stages import resolve
from workflows.stages.base import TaskResult

IGOR = "com.netflix.spinnaker.orca.igor.tasks."


def plan(stage_type: str, **context: Any) -> list[tuple[str, str, str | None, bool]]:
    specs = resolve(stage_type).tasks(context)
    return [(s.name, s.implementing_class.removeprefix(IGOR), s.activity, s.polling) for s in specs]


def test_the_jenkins_stage_plans_orcas_tasks() -> None:
    assert plan("jenkins", master="ci", job="app") == [
        ("startJenkinsJob", "StartJenkinsJobTask", "start_jenkins_job", True),
        ("waitForJenkinsJobStart", "MonitorQueuedJenkinsJobTask", "wait_for_jenkins_job_start", True),
        ("monitorJenkinsJob", "MonitorJenkinsJobTask", "monitor_jenkins_job", True),
        ("getBuildProperties", "GetBuildPropertiesTask", "get_build_properties", False),
        ("getBuildArtifacts", "GetBuildArtifactsTask", None, False),
    ]


@pytest.mark.parametrize(
    ("value", "waits"),
    [(None, True), (True, True), ("true", True), (False, False), ("false", False), ("FALSE", False), (0, False)],
)
def test_wait_for_completion(value: Any, waits: bool) -> None:
    context = {} if value is None else {"waitForCompletion": value}
    names = [name for name, *_ in plan("jenkins", **context)]
    assert names == (
        ["startJenkinsJob", "waitForJenkinsJobStart", "monitorJenkinsJob", "getBuildProperties", "getBuildArtifacts"]
        if waits
        else ["startJenkinsJob", "waitForJenkinsJobStart"]
    )


def test_timeouts_backoffs_and_cancel() -> None:
    specs = {s.name: s for s in resolve("jenkins").tasks({})}
    assert (specs["startJenkinsJob"].backoff, specs["startJenkinsJob"].timeout) == (
        timedelta(seconds=30),
        timedelta(minutes=15),
    )
    for name in ("waitForJenkinsJobStart", "monitorJenkinsJob"):
        assert (specs[name].backoff, specs[name].timeout) == (timedelta(seconds=10), timedelta(hours=2))
    assert specs["getBuildProperties"].timeout == timedelta(minutes=1)
    assert {s.on_cancel for n, s in specs.items() if s.activity and n != "getBuildProperties"} == {"stop_jenkins_job"}


def test_the_script_stage_plans_orcas_tasks() -> None:
    assert plan("script", command="x") == [
        ("startScript", "StartScriptTask", "start_script", True),
        ("waitForScriptStart", "MonitorQueuedJenkinsJobTask", "wait_for_jenkins_job_start", True),
        ("monitorScript", "MonitorJenkinsJobTask", "monitor_jenkins_job", True),
        ("getBuildProperties", "GetBuildPropertiesTask", "get_build_properties", False),
    ]
    assert [name for name, *_ in plan("script", waitForCompletion="false")] == ["startScript", "waitForScriptStart"]


def test_a_failed_build_still_looks_for_its_property_file() -> None:
    jenkins = resolve("jenkins")
    assert jenkins.on_failure_stages({"master": "ci", "job": "app"}) == []
    assert jenkins.on_failure_stages({"propertyFile": "  "}) == []
    [stage] = jenkins.on_failure_stages(
        {"master": "ci", "job": "app", "propertyFile": "b.properties", "buildNumber": 4}
    )
    assert (stage.type, stage.name, stage.owner) == ("getProperties", "Try to get properties file", "STAGE_AFTER")
    assert stage.context == {"master": "ci", "job": "app", "propertyFile": "b.properties", "buildNumber": 4}
    assert plan("getProperties") == [("getPropertiesFile", "GetBuildPropertiesTask", "get_build_properties", False)]


def test_restart_forgets_the_build_and_keeps_it_as_previous() -> None:
    context: dict[str, Any] = {
        "master": "ci",
        "queuedBuild": "7",
        "buildNumber": 3,
        "nextBuildNumber": 3,
        "buildInfo": {"number": 3},
        "restartDetails": {"restartedBy": "me"},
    }
    resolve("jenkins").prepare_for_restart(context)  # type: ignore[attr-defined]
    assert context == {"master": "ci", "restartDetails": {"restartedBy": "me", "previousBuildInfo": {"number": 3}}}
    script: dict[str, Any] = {"buildNumber": 1}
    resolve("script").prepare_for_restart(script)  # type: ignore[attr-defined]
    assert script == {}


class _Runtime:
    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context


async def test_get_build_artifacts_keeps_decorated_artifacts_only() -> None:
    info = {
        "artifacts": [
            {"fileName": "app.deb", "decorated": True, "name": "app", "version": "1.0"},
            {"fileName": "build.properties", "decorated": False},
            {"fileName": "x.rpm", "metadata": {"decorated": True}},
        ]
    }
    result: TaskResult = await stages._get_build_artifacts(_Runtime({"buildInfo": info}))  # type: ignore[arg-type]
    assert result.status == S.SUCCEEDED and result.context == {}
    assert [a["fileName"] for a in result.outputs["artifacts"]] == ["app.deb", "x.rpm"]
    assert stages.decorated_artifacts(None) == []
