"""The pure rules shared by every build service, as tables: the build monitor's deltas, Echo's matching of
CI triggers, Orca's result table, the CI stages' plans, and the registry's names."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from core.settings import Settings
from core.status import ExecutionStatus
from integrations.ci.base import BuildResult, CiBuild, CiConfigError, UnknownBuildServiceError
from integrations.ci.polling import job_delta
from integrations.ci.services import BuildServices
from integrations.ci.triggers import ci_trigger_matches
from integrations.jenkins.polling import Cursor
from workflows.stages.ci import GitHubActionsStage, TravisStage


def build(number: int, result: BuildResult = BuildResult.SUCCESS, **kw: Any) -> CiBuild:
    return CiBuild("org/app", number, str(number * 100), result, building=result is BuildResult.BUILDING, **kw)


RUNNING = BuildResult.BUILDING


@pytest.mark.parametrize(
    ("builds", "cursor", "posted", "after"),
    [
        ([], None, [], None),  # no builds yet: nothing to remember
        ([build(3), build(2)], None, [], Cursor(3)),  # first sight: the cursor only
        ([build(3), build(2)], Cursor(3), [], None),  # nothing new
        ([build(5), build(4), build(3)], Cursor(3), [4, 5], Cursor(5)),
        ([build(5), build(4, RUNNING), build(3)], Cursor(3), [5], Cursor(3, frozenset({5}))),  # 4 still runs
        ([build(5), build(4), build(3)], Cursor(3, frozenset({5})), [4], Cursor(5)),  # 5 posted already
        ([build(2), build(1)], Cursor(9), [], Cursor(2)),  # the job was re-created
        ([build(4, BuildResult.FAILURE)], Cursor(3), [4], Cursor(4)),  # failures are posted (and fire nothing)
        ([build(4, spinnaker_triggered=True)], Cursor(3), [], Cursor(4)),  # started by a stage: no event
    ],
)
def test_job_delta(builds: list[CiBuild], cursor: Cursor | None, posted: list[int], after: Cursor | None) -> None:
    delta = job_delta("org/app", builds, cursor)
    assert ([b.number for b in delta.finished], delta.cursor) == (posted, after)


def test_handle_first_builds_posts_the_listed_finished_builds() -> None:
    delta = job_delta("org/app", [build(2), build(1, RUNNING)], None, handle_first_builds=True)
    assert [b.number for b in delta.finished] == [2] and delta.cursor == Cursor(0, frozenset({2}))


PIPELINES = [
    {"id": "a", "triggers": [{"type": "travis", "enabled": True, "master": "t", "job": "org/app"}]},
    {"id": "b", "triggers": [{"type": "travis", "enabled": True, "master": "t", "job": "org/app/main"}]},
    {"id": "c", "triggers": [{"type": "travis", "enabled": True, "master": "other", "job": "org/app"}]},
    {"id": "d", "triggers": [{"type": "github-actions", "enabled": True, "master": "t", "job": "org/app"}]},
    {"id": "e", "disabled": True, "triggers": [{"type": "travis", "enabled": True, "master": "t", "job": "org/app"}]},
    {
        "id": "f",  # two matching triggers: one start
        "triggers": [
            {"type": "travis", "enabled": True, "master": "t", "job": "org/app"},
            {"type": "travis", "enabled": True, "master": "t", "job": "org/app/main"},
        ],
    },
]


@pytest.mark.parametrize(
    ("names", "result", "ids"),
    [
        (["org/app", "org/app/main"], "SUCCESS", ["a", "b", "f"]),
        (["org/app", "org/app/dev"], "SUCCESS", ["a", "f"]),
        (["org/app", "org/app/main"], "FAILURE", []),
        (["org/app", "org/app/main"], "ABORTED", []),
    ],
)
def test_ci_trigger_matches(names: list[str], result: str, ids: list[str]) -> None:
    matches = ci_trigger_matches("travis", "t", names, result, PIPELINES)
    assert [p["id"] for p, _ in matches] == ids


@pytest.mark.parametrize(
    ("result", "mark", "status"),
    [
        (BuildResult.SUCCESS, False, ExecutionStatus.SUCCEEDED),
        (BuildResult.FAILURE, False, ExecutionStatus.TERMINAL),
        (BuildResult.UNSTABLE, False, ExecutionStatus.TERMINAL),
        (BuildResult.UNSTABLE, True, ExecutionStatus.SUCCEEDED),
        (BuildResult.ABORTED, False, ExecutionStatus.CANCELED),
        (BuildResult.NOT_BUILT, False, ExecutionStatus.TERMINAL),
        (BuildResult.BUILDING, False, ExecutionStatus.RUNNING),
    ],
)
def test_outcome_is_orcas_table(result: BuildResult, mark: bool, status: ExecutionStatus) -> None:
    assert build(1, result).outcome(mark)[0] is status


def test_stage_plans_and_restart() -> None:
    assert [t.name for t in TravisStage().tasks({"waitForCompletion": "false"})] == [
        "startTravisJob",
        "waitForTravisJobStart",
    ]
    specs = GitHubActionsStage().tasks({})
    assert [t.name for t in specs][2:] == ["monitorGithubActionsJob", "getBuildProperties", "getBuildArtifacts"]
    assert all(t.on_cancel == "stop_ci_job" for t in specs if t.activity != "get_ci_build_properties" and t.activity)
    context = {"buildInfo": {"number": 3}, "buildId": "9", "ciStart": {}, "queuedBuild": {}, "buildNumber": 3}
    TravisStage().prepare_for_restart(context)
    assert context == {"restartDetails": {"previousBuildInfo": {"number": 3}}}
    assert TravisStage().required_permissions({"master": "t"}) == [("buildService", "t", "WRITE")]


def test_the_registry_checks_names_and_types(tmp_path: Any) -> None:
    settings = Settings.model_validate({"state_dir": tmp_path, "ci": {"travis": [{"name": "t", "token": "x"}]}})
    services = BuildServices.from_settings(settings)
    assert services.names() == ["t"] and services.provider_of("t") == "TRAVIS"
    with pytest.raises(UnknownBuildServiceError, match="no build service named 'nope'"):
        services.service("nope")
    with pytest.raises(UnknownBuildServiceError, match="'t' is travis, not github-actions"):
        services.service("t", "github-actions")
    services.close()
    clashing = {
        "state_dir": tmp_path,
        "ci": {"travis": [{"name": "ci"}]},
        "jenkins": {"masters": [{"name": "ci", "address": "http://jenkins"}]},
    }
    # the settings refuse it (the API and the worker fail at start, naming it), and so does the registry
    with pytest.raises(ValidationError, match="differ from Jenkins masters' names: ci"):
        Settings.model_validate(clashing)
    with pytest.raises(CiConfigError, match="differ from Jenkins masters' names: ci"):
        ci_only = Settings.model_validate(clashing | {"jenkins": {}})
        jenkins_only = Settings.model_validate(clashing | {"ci": {}})
        BuildServices.from_settings(SimpleNamespace(ci=ci_only.ci, jenkins=jenkins_only.jenkins))
