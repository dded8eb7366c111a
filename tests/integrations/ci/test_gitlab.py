"""The GitLab CI client (python-gitlab) against the REST API v4 stand-in, and its pure rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings.ci import CiSettings
from integrations.ci.base import (
    BuildResult,
    CiAuthError,
    CiNotFoundError,
    CiRequestError,
    CiUnreachableError,
    StartedRun,
)
from integrations.ci.gitlab import STATES, GitLabCiService, project_path, to_build, variables_of
from integrations.ci.services import BuildServices
from integrations.jenkins.properties import PropertyFileError
from tests.integrations.ci.conftest import gitlab_settings
from tests.integrations.ci.gitlab_standin import GitLabStandIn


@pytest.fixture
def gitlab(gitlab_standin: GitLabStandIn) -> Iterator[GitLabCiService]:
    gitlab_standin.add_project("group/app", branches={"main", "v1.0"})
    service = GitLabCiService(gitlab_settings(gitlab_standin))
    yield service
    service.close()


@pytest.mark.parametrize(
    ("status", "result", "building"),
    [
        ("created", BuildResult.BUILDING, True),
        ("pending", BuildResult.BUILDING, True),
        ("running", BuildResult.BUILDING, True),
        ("manual", BuildResult.BUILDING, True),
        ("success", BuildResult.SUCCESS, False),
        ("failed", BuildResult.FAILURE, False),
        ("canceled", BuildResult.ABORTED, False),
        ("skipped", BuildResult.NOT_BUILT, False),
    ],
)
def test_pipeline_statuses_as_igor_reads_them(status: str, result: BuildResult, building: bool) -> None:
    assert STATES[status] == (result, building)
    build = to_build("group/app", {"id": 7, "status": status, "ref": "main", "project_id": 40}, "https://gl")
    assert (build.result, build.building, build.number, build.id) == (result, building, 7, "7")
    assert build.aliases == ("40",) and build.names == ["group/app", "40"]
    assert build.to_build_info()["fullDisplayName"] == "main (7)"  # Igor's friendly name
    assert build.url == "https://gl/group/app/-/pipelines/7"


def test_a_job_is_a_project_path_or_id() -> None:
    assert project_path("/group/sub/app/") == "group/sub/app" and project_path("42") == "42"
    with pytest.raises(CiRequestError, match="project path"):
        project_path("app")


def test_variables_are_env_vars_with_plain_names() -> None:
    assert variables_of({"VERSION": 2}) == [{"key": "VERSION", "value": "2", "variable_type": "env_var"}]
    with pytest.raises(CiRequestError, match="'bad-name'"):
        variables_of({"bad-name": "x"})


def test_settings_read_igors_key_and_the_services_registry_makes_the_client(gitlab_standin: GitLabStandIn) -> None:
    ci = CiSettings.model_validate(
        {"gitlab-ci": [{"name": "gl", "address": gitlab_standin.url, "privateToken": "t", "projects": ["g/a"]}]}
    )
    assert [s.name for s in ci.services()] == ["gl"] and "'t'" not in repr(ci)
    services = BuildServices(ci.services())
    assert services.provider_of("gl") == "GITLAB_CI"
    client = services.service("gl", "gitlab-ci")
    assert isinstance(client, GitLabCiService) and client.list_jobs() == ["g/a"]
    services.close()


def test_lists_projects_and_pipelines_by_ref(gitlab: GitLabCiService, gitlab_standin: GitLabStandIn) -> None:
    gitlab_standin.add_project("group/docs", builds_access_level="disabled")
    first = gitlab_standin.add_pipeline("group/app", "success", "main")
    second = gitlab_standin.add_pipeline("group/app", "failed", "v1.0")
    third = gitlab_standin.add_pipeline("group/app", "running", "main")
    assert gitlab.list_jobs() == ["group/app"]  # CI disabled: not a job
    assert gitlab_standin.calls_to("GET", "^/api/v4/projects$")[0].query["membership"] == "True"
    builds = gitlab.builds("group/app")
    assert [(b.number, b.result, b.building) for b in builds] == [
        (third.id, BuildResult.BUILDING, True),
        (second.id, BuildResult.FAILURE, False),
        (first.id, BuildResult.SUCCESS, False),
    ]
    assert [b.number for b in gitlab.builds("group/app", branch="v1.0")] == [second.id]
    assert gitlab_standin.calls[-1].path == "/api/v4/projects/group%2Fapp/pipelines"
    info = gitlab.get_build("group/app", first.id).to_build_info()
    assert info["result"] == "SUCCESS" and info["duration"] == 42000 and info["scm"][0]["branch"] == "main"
    assert gitlab.builds("40", limit=1)[0].job == "40"  # by project id too


def test_start_creates_a_pipeline_with_variables_and_follows_it(
    gitlab: GitLabCiService, gitlab_standin: GitLabStandIn
) -> None:
    started = gitlab.start("group/app", ref="v1.0", parameters={"VERSION": "1.2"})
    assert started.build is not None and started.ref == "v1.0"
    pipeline = gitlab_standin.pipeline("group/app", int(started.build.id))
    assert (pipeline.ref, pipeline.variables, pipeline.source) == ("v1.0", {"VERSION": "1.2"}, "api")
    assert gitlab.find_started(started) is started.build
    assert gitlab.get_run("group/app", started.build.id).building  # running at the first read
    assert gitlab.get_run("group/app", started.build.id).result is BuildResult.SUCCESS
    default = gitlab.start("group/app", ref=None, parameters={})
    assert default.ref == "main"


def test_an_unknown_ref_is_refused_naming_it(gitlab: GitLabCiService) -> None:
    with pytest.raises(CiRequestError, match="on nope: HTTP 400.*Reference not found"):
        gitlab.start("group/app", ref="nope", parameters={})


def test_a_lost_answer_finds_the_pipeline_it_created(gitlab: GitLabCiService, gitlab_standin: GitLabStandIn) -> None:
    before = gitlab_standin.add_pipeline("group/app", "success", "main")
    gitlab_standin.add_pipeline("group/app", "success", "main")  # a push meanwhile: not ours
    started = gitlab.start("group/app", ref="main", parameters={})
    lost = StartedRun("group/app", "main", since_number=before.id)
    found = gitlab.find_started(lost)
    assert found is not None and started.build is not None and found.id == started.build.id
    assert gitlab.find_started(StartedRun("group/app", "v1.0", since_number=before.id)) is None


def test_cancel_and_cancel_again(gitlab: GitLabCiService, gitlab_standin: GitLabStandIn) -> None:
    gitlab_standin.projects["group/app"].hold = True
    build = gitlab.start("group/app", ref=None, parameters={}).build
    assert build is not None
    gitlab.cancel("group/app", build.id)
    assert gitlab.get_run("group/app", build.id).result is BuildResult.ABORTED
    gitlab.cancel("group/app", build.id)  # finished: GitLab answers it unchanged, no error
    assert len(gitlab_standin.calls_to("POST", "/cancel$")) == 2


def test_properties_from_a_job_artifact(gitlab: GitLabCiService, gitlab_standin: GitLabStandIn) -> None:
    pipeline = gitlab_standin.add_pipeline("group/app", files={"build.properties": b"VERSION=1.0\nimage=app:1\n"})
    build = gitlab.get_build("group/app", pipeline.id)
    assert gitlab.properties("group/app", build, "build.properties") == {"VERSION": "1.0", "image": "app:1"}
    assert gitlab.properties("group/app", build, None) == {}
    artifact = gitlab_standin.calls_to("GET", "/artifacts/")[0]
    assert artifact.path.endswith(f"/jobs/{pipeline.jobs[0].id}/artifacts/build.properties")


def test_properties_from_a_child_pipeline_and_from_logs(gitlab: GitLabCiService, gitlab_standin: GitLabStandIn) -> None:
    parent = gitlab_standin.add_pipeline("group/app")
    child = gitlab_standin.add_pipeline("group/app", files={"out.json": b'{"version": "3"}'})
    gitlab_standin.projects["group/app"].pipelines.remove(child)
    parent.children.append(child)
    build = gitlab.get_build("group/app", parent.id)
    assert gitlab.properties("group/app", build, "out.json") == {"version": "3"}

    logged = gitlab_standin.add_pipeline("group/app")
    logged.jobs[0].log = "$ make\nSPINNAKER_PROPERTY_VERSION=4\n"
    assert gitlab.properties("group/app", gitlab.get_build("group/app", logged.id), "any.properties") == {
        "version": "4"
    }
    nothing = gitlab_standin.add_pipeline("group/app")
    with pytest.raises(CiNotFoundError, match="missing.properties is in no artifact or log"):
        gitlab.properties("group/app", gitlab.get_build("group/app", nothing.id), "missing.properties")


def test_a_property_file_that_does_not_parse(gitlab: GitLabCiService, gitlab_standin: GitLabStandIn) -> None:
    pipeline = gitlab_standin.add_pipeline("group/app", files={"out.json": b"{not json"})
    with pytest.raises(PropertyFileError):
        gitlab.properties("group/app", gitlab.get_build("group/app", pipeline.id), "out.json")


def test_errors_name_the_service_and_never_the_token(gitlab_standin: GitLabStandIn) -> None:
    gitlab_standin.add_project("group/app")
    bad = GitLabCiService(gitlab_settings(gitlab_standin, token="wrong-token"))
    with pytest.raises(CiAuthError) as refused:
        bad.builds("group/app")
    assert "gitlab-ci 'gitlab'" in str(refused.value) and "wrong-token" not in str(refused.value)
    good = GitLabCiService(gitlab_settings(gitlab_standin))
    with pytest.raises(CiNotFoundError, match="project group/none"):
        good.builds("group/none")
    for status in (503, 429):  # no sleeping and no retrying inside python-gitlab: one call each
        gitlab_standin.fail_next("GET", "/pipelines$", status)
        with pytest.raises(CiUnreachableError) as down:
            good.builds("group/app")
        assert down.value.retryable and gitlab_standin.token not in str(down.value)
    assert len(gitlab_standin.calls_to("GET", "/pipelines$")) == 4
    bad.close()
    good.close()


def test_an_unreachable_gitlab_is_retryable(gitlab_standin: GitLabStandIn) -> None:
    address = gitlab_standin.url
    gitlab_standin.stop()
    down = GitLabCiService(gitlab_settings(gitlab_standin, address=address, timeout=1.0))
    with pytest.raises(CiUnreachableError, match="gitlab-ci 'gitlab': pipelines of group/app"):
        down.builds("group/app")
    down.close()
