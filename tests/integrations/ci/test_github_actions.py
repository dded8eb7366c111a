"""The GitHub Actions client against the REST stand-in, and its pure rules."""

from __future__ import annotations

import pytest

from integrations.ci.base import BuildResult, CiAuthError, CiNotFoundError, CiRequestError, StartedRun
from integrations.ci.github_actions import GitHubActionsService, split_job
from integrations.jenkins.properties import PropertyFileError
from tests.integrations.ci.conftest import github_settings
from tests.integrations.ci.github_standin import GitHubStandIn


@pytest.fixture
def app(github_standin: GitHubStandIn) -> GitHubStandIn:
    github_standin.add_repo("org/app", branches={"main", "v1.0"})
    github_standin.add_workflow("org/app", "ci.yml", inputs={"version": True, "note": False})
    github_standin.add_workflow("org/app", "lint.yml")
    return github_standin


@pytest.mark.parametrize(
    ("job", "expected"),
    [("org/app/ci.yml", ("org/app", "ci.yml")), ("org/app/.github/workflows/ci.yml", ("org/app", "ci.yml"))],
)
def test_split_job(job: str, expected: tuple[str, str]) -> None:
    assert split_job(job) == expected


def test_a_job_must_name_a_workflow() -> None:
    with pytest.raises(CiRequestError, match="owner/repo/<workflow file>"):
        split_job("org/app")


def test_lists_workflows_and_runs_by_branch(github: GitHubActionsService, app: GitHubStandIn) -> None:
    app.add_run("org/app", "ci.yml", "success", "main")
    app.add_run("org/app", "ci.yml", "failure", "v1.0")
    app.add_run("org/app", "ci.yml", None, "main")
    assert github.list_jobs() == ["org/app/ci.yml", "org/app/lint.yml"]
    runs = github.builds("org/app/ci.yml")
    assert [(r.number, r.result, r.building) for r in runs] == [
        (3, BuildResult.BUILDING, True),
        (2, BuildResult.FAILURE, False),
        (1, BuildResult.SUCCESS, False),
    ]
    assert [r.number for r in github.builds("org/app/ci.yml", branch="v1.0")] == [2]
    info = github.get_build("org/app/ci.yml", 1).to_build_info()
    assert info["result"] == "SUCCESS" and info["duration"] == 30000 and info["scm"][0]["branch"] == "main"


@pytest.mark.parametrize("details", [False, True], ids=["204 then search", "200 with the run id"])
def test_dispatch_with_inputs_on_a_tag_and_follow_the_run(
    github: GitHubActionsService, app: GitHubStandIn, details: bool
) -> None:
    app.returns_run_details = details
    app.add_run("org/app", "ci.yml", "success", "main")
    started = github.start("org/app/ci.yml", ref="v1.0", parameters={"version": "1.2"})
    body = app.calls_to("POST", "/dispatches$")[0].body
    assert body["ref"] == "v1.0" and body["inputs"] == {"version": "1.2"}
    assert started.since_number == 1 and (started.build is not None) is details
    run = github.find_started(started)
    assert run is not None and run.number == 2 and run.branch == "v1.0"
    assert app.repos["org/app"].runs[-1].inputs == {"version": "1.2"}
    while run.building:
        run = github.get_run("org/app/ci.yml", run.id)
    assert run.result is BuildResult.SUCCESS


def test_dispatch_defaults_to_the_default_branch_and_refusals_are_request_errors(
    github: GitHubActionsService, app: GitHubStandIn
) -> None:
    github.start("org/app/ci.yml", ref=None, parameters={"version": "1"})
    assert app.calls_to("POST", "/dispatches$")[0].body["ref"] == "main"
    with pytest.raises(CiRequestError, match="Required input 'version'"):
        github.start("org/app/ci.yml", ref="main", parameters={})
    with pytest.raises(CiRequestError, match="No ref found"):
        github.start("org/app/ci.yml", ref="nope", parameters={"version": "1"})
    with pytest.raises(CiNotFoundError):
        github.start("org/app/missing.yml", ref="main", parameters={})


def test_find_started_skips_runs_before_the_start(github: GitHubActionsService, app: GitHubStandIn) -> None:
    app.add_run("org/app", "ci.yml", "success", "main", event="workflow_dispatch")
    assert github.find_started(StartedRun("org/app/ci.yml", "main", since_number=1)) is None


def test_cancel_a_running_run_and_a_finished_one(github: GitHubActionsService, app: GitHubStandIn) -> None:
    app.repos["org/app"].workflows["ci.yml"].hold = True
    run = github.find_started(github.start("org/app/ci.yml", ref="main", parameters={"version": "1"}))
    assert run is not None
    github.cancel("org/app/ci.yml", run.id)
    assert github.get_run("org/app/ci.yml", run.id).result is BuildResult.ABORTED
    github.cancel("org/app/ci.yml", run.id)  # 409: completed already, no error


def test_properties_from_an_artifact_through_the_redirect(github: GitHubActionsService, app: GitHubStandIn) -> None:
    app.repos["org/app"].workflows["lint.yml"].files = {
        "out/build.properties": b"version=1.2.3\nimage=ami-9\n",
        "report.json": b'{"ok": true}',
        "bad.yml": b"a: [",
    }
    run = app.add_run("org/app", "lint.yml", "success")
    build = github.get_run("org/app/lint.yml", str(run.id))
    assert github.properties("org/app/lint.yml", build, "build.properties") == {"version": "1.2.3", "image": "ami-9"}
    assert github.properties("org/app/lint.yml", build, "report.json") == {"ok": True}
    assert github.properties("org/app/lint.yml", build, None) == {}
    with pytest.raises(CiNotFoundError, match="missing.properties is in no artifact"):
        github.properties("org/app/lint.yml", build, "missing.properties")
    with pytest.raises(PropertyFileError, match="invalid YAML"):
        github.properties("org/app/lint.yml", build, "bad.yml")
    assert app.calls_to("GET", "^/blob/")  # the zip came from the redirect's target


def test_a_bad_token_is_an_auth_error_without_the_token(github_standin: GitHubStandIn) -> None:
    github_standin.add_repo("org/app")
    service = GitHubActionsService(github_settings(github_standin, token="ghp_wrong", repositories=["org/app"]))
    with pytest.raises(CiAuthError) as refused:
        service.list_jobs()
    assert "Bad credentials" in str(refused.value) and "ghp_wrong" not in str(refused.value)
    service.close()
