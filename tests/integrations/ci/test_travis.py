"""The Travis client against the API v3 stand-in, and its pure rules as tables."""

from __future__ import annotations

import pytest

from integrations.ci.base import (
    BuildResult,
    BuildService,
    CiAuthError,
    CiNotFoundError,
    CiRequestError,
    CiResponseError,
    CiUnreachableError,
)
from integrations.ci.travis import TravisService, env_matrix, extract_properties, split_job
from tests.integrations.ci.conftest import travis_settings
from tests.integrations.ci.travis_standin import TravisScript, TravisStandIn


@pytest.mark.parametrize(
    ("job", "slug", "branch"),
    [
        ("org/app", "org/app", None),
        ("org/app/main", "org/app", "main"),
        ("org/app/feature/x", "org/app", "feature/x"),
        ("org/app/tags", "org/app", None),
        ("org/app/pull_request_fix", "org/app", "fix"),
    ],
)
def test_split_job_is_igors_branched_slug(job: str, slug: str, branch: str | None) -> None:
    assert split_job(job) == (slug, branch)


def test_a_job_without_a_repository_is_refused() -> None:
    with pytest.raises(CiRequestError, match="owner/repo"):
        split_job("app")


def test_properties_from_the_log_as_igor_reads_them() -> None:
    log = "\n".join(
        [
            "$ ./build.sh",
            "SPINNAKER_PROPERTY_IMAGE=ami-123",
            "  SPINNAKER_PROPERTY_Url=https://x/?a=b",
            'SPINNAKER_CONFIG_JSON={"version": "1.2", "n": 3}',
            "echo SPINNAKER_PROPERTY_NOT=this",
        ]
    )
    assert extract_properties(log) == {"image": "ami-123", "url": "https://x/?a=b", "version": "1.2", "n": 3}
    with pytest.raises(CiResponseError):
        extract_properties("SPINNAKER_CONFIG_JSON={not json")


def test_env_matrix_quotes_blanks_and_refuses_bad_names() -> None:
    assert env_matrix({"A": "1", "B": "two words", "C": ""}) == 'A=1 B="two words" C=""'
    with pytest.raises(CiRequestError, match="not an environment variable"):
        env_matrix({"a-b": "1"})


def test_lists_builds_by_branch_newest_first(travis: TravisService, travis_standin: TravisStandIn) -> None:
    assert isinstance(travis, BuildService)
    travis_standin.add_repo("org/app")
    travis_standin.add_build("org/app", "passed", "main")
    travis_standin.add_build("org/app", "failed", "dev")
    travis_standin.add_build("org/app", "started", "main")
    assert travis.list_jobs() == ["org/app"]
    builds = travis.builds("org/app")
    assert [(b.number, b.result, b.building) for b in builds] == [
        (3, BuildResult.BUILDING, True),
        (2, BuildResult.FAILURE, False),
        (1, BuildResult.SUCCESS, False),
    ]
    assert [b.number for b in travis.builds("org/app/main")] == [3, 1]
    assert builds[1].names == ["org/app", "org/app/dev"]
    info = travis.get_build("org/app", 1).to_build_info()
    assert info["result"] == "SUCCESS" and info["url"].endswith(f"/org/app/builds/{builds[2].id}")
    assert info["scm"][0]["branch"] == "main" and info["duration"] == 42000


def test_start_sends_the_parameters_as_environment_and_finds_the_build(
    travis: TravisService, travis_standin: TravisStandIn
) -> None:
    travis_standin.add_repo("org/app", default_branch="trunk", script=TravisScript(request_polls=2, build_polls=2))
    started = travis.start("org/app", ref=None, parameters={"VERSION": "1.2", "NOTE": "a b"})
    body = travis_standin.calls_to("POST", "/requests$")[0].body
    assert body["request"]["branch"] == "trunk"
    assert body["request"]["message"] == "Triggered from Spinnaker"
    assert body["request"]["config"]["env"]["matrix"] == 'VERSION=1.2 NOTE="a b"'
    assert travis.find_started(started) is None  # the request has no build yet
    build = travis.find_started(started)
    assert build is not None and build.number == 1 and build.building and build.spinnaker_triggered
    assert travis_standin.build_by_number("org/app", 1).env == 'VERSION=1.2 NOTE="a b"'
    assert travis.get_run("org/app", build.id).building  # first read: still running
    done = travis.get_run("org/app", build.id)
    assert done.result is BuildResult.SUCCESS and done.outcome()[0].value == "SUCCEEDED"


def test_a_lost_request_answer_finds_the_build_by_number(travis: TravisService, travis_standin: TravisStandIn) -> None:
    travis_standin.add_repo("org/app")
    travis_standin.add_build("org/app", "passed", "main")
    started = travis.start("org/app/main", ref=None, parameters={})
    lost = type(started)("org/app/main", "main", since_number=1)
    found = travis.find_started(lost)
    assert found is not None and found.number == 2
    assert found.id == travis.find_started(started).id  # type: ignore[union-attr]


def test_cancel_and_cancel_again(travis: TravisService, travis_standin: TravisStandIn) -> None:
    travis_standin.add_repo("org/app", script=TravisScript(hold=True))
    build = travis.find_started(travis.start("org/app/main", ref=None, parameters={}))
    assert build is not None
    travis.cancel("org/app", build.id)
    assert travis.get_run("org/app", build.id).result is BuildResult.ABORTED
    travis.cancel("org/app", build.id)  # 409 from Travis: already finished, no error


def test_properties_read_every_job_log(travis: TravisService, travis_standin: TravisStandIn) -> None:
    travis_standin.add_repo("org/app")
    travis_standin.add_build("org/app", log="SPINNAKER_PROPERTY_VERSION=7\n")
    build = travis.get_build("org/app", 1)
    assert travis.properties("org/app", build, "ignored.properties") == {"version": "7"}


def test_errors_name_the_service_and_never_the_token(travis_standin: TravisStandIn) -> None:
    travis_standin.add_repo("org/app")
    bad = TravisService(travis_settings(travis_standin, token="wrong-token"))
    with pytest.raises(CiAuthError) as refused:
        bad.builds("org/app")
    assert "travis 'travis'" in str(refused.value) and "wrong-token" not in str(refused.value)
    good = TravisService(travis_settings(travis_standin))
    with pytest.raises(CiNotFoundError, match="repository org/none"):
        good.builds("org/none")
    travis_standin.fail_next("GET", "/builds$", 503)
    with pytest.raises(CiUnreachableError) as down:
        good.builds("org/app")
    assert down.value.retryable and travis_standin.token not in str(down.value)
    bad.close()
    good.close()


def test_a_passed_build_is_done_once_its_log_is_complete(travis: TravisService, travis_standin: TravisStandIn) -> None:
    travis_standin.add_repo("org/app")
    build = travis_standin.add_build("org/app", log="SPINNAKER_PROPERTY_VERSION=1\n")
    build.log_complete = False
    listed = travis.builds("org/app")[0]
    assert (listed.result, listed.building) == (BuildResult.BUILDING, True)
    build.log_complete = True
    assert travis.get_run("org/app", listed.id).result is BuildResult.SUCCESS
