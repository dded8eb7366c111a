"""Tables for the pure rules between Jenkins' JSON and Spinnaker's (integrations/jenkins/builds.py)."""

from __future__ import annotations

from typing import Any

import pytest

from core.status import ExecutionStatus as S
from integrations.jenkins import builds
from integrations.jenkins.errors import JenkinsRequestError

# ---- result → status (Orca's MonitorJenkinsJobTask, MonitorJenkinsJobTaskSpec) --------------------------


@pytest.mark.parametrize(
    ("build", "mark_unstable", "status", "error"),
    [
        ({"result": "SUCCESS", "building": False}, False, S.SUCCEEDED, None),
        ({"result": "UNSTABLE", "building": False}, False, S.TERMINAL, "Job is unstable"),
        ({"result": "UNSTABLE", "building": False}, True, S.SUCCEEDED, None),
        ({"result": "FAILURE", "building": False}, False, S.TERMINAL, "Job failed (see Jenkins)"),
        ({"result": "FAILURE", "building": False}, True, S.TERMINAL, "Job failed (see Jenkins)"),
        ({"result": "ABORTED", "building": False}, False, S.CANCELED, "Job was aborted (see Jenkins)"),
        ({"result": "NOT_BUILT", "building": False}, False, S.TERMINAL, "Job was not built (see Jenkins)"),
        ({"result": None, "building": True}, False, S.RUNNING, None),
        ({"result": None, "building": False}, False, S.RUNNING, None),  # finishing: no result yet
        ({"result": "UNKNOWN"}, False, S.RUNNING, None),
        ({}, False, S.RUNNING, None),
        # a building build is RUNNING whatever its result says (Orca reads `building` and `running`)
        ({"result": "SUCCESS", "building": True}, False, S.RUNNING, None),
        ({"result": "SUCCESS", "building": "true"}, False, S.RUNNING, None),
        ({"result": "SUCCESS", "building": "false"}, False, S.SUCCEEDED, None),
        ({"result": "SUCCESS", "running": True}, False, S.RUNNING, None),
        ({"result": "SUCCESS", "running": "false"}, False, S.SUCCEEDED, None),
    ],
)
def test_build_outcome(build: dict[str, Any], mark_unstable: bool, status: S, error: str | None) -> None:
    assert builds.build_outcome(build, mark_unstable) == (status, error)


# ---- names and parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spinnaker", "jenkins"),
    [
        ("app", "app"),
        ("folder/job/app", "folder/app"),
        ("a/job/b/job/c", "a/b/c"),
        ("a/job/job/job/b", "a/job/b"),  # a folder named "job"
        ("/folder/job/app/", "folder/app"),
    ],
)
def test_job_names(spinnaker: str, jenkins: str) -> None:
    assert builds.jenkins_job_name(spinnaker) == jenkins
    assert builds.spinnaker_job_name(jenkins) == spinnaker.strip("/")


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (None, {}),
        ({}, {}),
        ({"A": "x", "B": 1, "C": True, "D": False, "E": None}, {"A": "x", "B": "1", "C": "true", "D": "false"}),
        ({"LIST": ["a", "b"], "MAP": {"k": 1}}, {"LIST": "a,b", "MAP": '{"k":1}'}),
        ({1: 2.5}, {"1": "2.5"}),
    ],
)
def test_build_parameters(given: Any, sent: dict[str, str]) -> None:
    assert builds.build_parameters(given) == sent


def test_build_parameters_must_be_a_map() -> None:
    with pytest.raises(JenkinsRequestError, match="parameters must be a map"):
        builds.build_parameters(["A=1"])


def _job(*definitions: dict[str, Any], buildable: bool = True) -> dict[str, Any]:
    props = [{"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": list(definitions)}]
    return {"buildable": buildable, "property": props if definitions else [{"_class": "other"}]}


CHOICE = {"name": "ENV", "type": "ChoiceParameterDefinition", "choices": ["dev", "prod"]}
STRING = {"name": "VERSION", "type": "StringParameterDefinition"}


@pytest.mark.parametrize(
    ("job", "given", "sent"),
    [
        (_job(STRING), {"VERSION": "1"}, {"VERSION": "1"}),
        (_job(STRING), {}, {"startedBy": "igor"}),  # Igor's placeholder: Jenkins uses the defaults
        (_job(), {}, None),  # a plain job is started with `build`
        (_job(CHOICE), {"ENV": "prod"}, {"ENV": "prod"}),
        (_job(CHOICE, STRING), {"VERSION": "2"}, {"VERSION": "2"}),
    ],
)
def test_start_parameters(job: dict[str, Any], given: dict[str, str], sent: dict[str, str] | None) -> None:
    assert builds.start_parameters(job, "app", given) == sent


@pytest.mark.parametrize(
    ("job", "given", "message"),
    [
        (_job(buildable=False), {}, "Job 'app' is not buildable. It may be disabled."),
        (_job(CHOICE), {"ENV": "qa"}, "`qa` is not a valid choice for `ENV`. Valid choices are: dev, prod"),
        (_job(), {"X": "1"}, "job : app, passing params to a job which doesn't need them"),
    ],
)
def test_start_parameters_refused(job: dict[str, Any], given: dict[str, str], message: str) -> None:
    with pytest.raises(JenkinsRequestError) as caught:
        builds.start_parameters(job, "app", given)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("sent", "seen", "same"),
    [
        ({"A": "1"}, {"A": "1", "DEFAULTED": "x"}, True),
        ({"A": "1", "UNDEFINED": "z"}, {"A": "1"}, True),  # Jenkins drops parameters the job does not define
        ({"FLAG": "true"}, {"FLAG": "True"}, True),
        ({"A": "1"}, {"A": "2"}, False),
        ({}, {"A": "1"}, True),
    ],
)
def test_same_parameters(sent: dict[str, str], seen: dict[str, str], same: bool) -> None:
    assert builds.same_parameters(sent, seen) is same


def test_parameter_values_and_causes_of_a_build() -> None:
    build = {
        "actions": [
            {"parameters": [{"name": "A", "value": "1"}, {"name": "FLAG", "value": True}, {"name": "SECRET"}]},
            {"causes": [{"userId": "spinnaker"}, {"shortDescription": "timer"}]},
            {},
        ]
    }
    assert builds.build_parameter_values(build) == {"A": "1", "FLAG": "true"}
    assert builds.started_by(build) == {"spinnaker"}


# ---- queue items -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "number", "cancelled"),
    [
        ({"_class": "hudson.model.Queue$WaitingItem", "why": "Waiting"}, None, False),
        ({"_class": "hudson.model.Queue$LeftItem", "executable": {"number": 7}}, 7, False),
        ({"_class": "hudson.model.Queue$LeftItem", "cancelled": True, "executable": None}, None, True),
    ],
)
def test_queue_items(item: dict[str, Any], number: int | None, cancelled: bool) -> None:
    assert builds.queued_build_number(item) == number
    assert builds.queue_item_cancelled(item) is cancelled


# ---- Igor's shapes ---------------------------------------------------------------------------------

BUILD = {
    "_class": "hudson.model.FreeStyleBuild",
    "actions": [
        {"_class": "hudson.model.ParametersAction", "parameters": [{"name": "A", "value": "1"}]},
        {"_class": "hudson.model.CauseAction", "causes": [{"userId": "spinnaker"}]},
        {
            "_class": "hudson.plugins.git.util.BuildData",
            "lastBuiltRevision": {"SHA1": "c0ffee", "branch": [{"SHA1": "c0ffee", "name": "refs/remotes/origin/main"}]},
            "remoteUrls": ["https://github.com/acme/app.git"],
        },
        {
            "_class": "hudson.plugins.git.util.BuildDetails",  # git plugin 4.x repeats the same revision
            "build": {"revision": {"branch": [{"SHA1": "c0ffee", "name": "refs/remotes/origin/main"}]}},
        },
        {
            "_class": "hudson.tasks.junit.TestResultAction",
            "failCount": 1,
            "skipCount": 2,
            "totalCount": 30,
            "urlName": "testReport",
        },
        {},
    ],
    "artifacts": [
        {"displayPath": "app.deb", "fileName": "app.deb", "relativePath": "build/app.deb"},
        {"displayPath": "build.properties", "fileName": "build.properties", "relativePath": "build/build.properties"},
    ],
    "building": False,
    "duration": 61000,
    "fullDisplayName": "app #12",
    "number": 12,
    "queueId": 300,
    "result": "SUCCESS",
    "timestamp": 1700000000000,
    "url": "https://ci.example.com/job/app/12/",
}


def test_build_info_is_igors_generic_build() -> None:
    assert builds.build_info("app", BUILD) == {
        "building": False,
        "fullDisplayName": "app #12",
        "name": "app",
        "number": 12,
        "duration": 61000,
        "timestamp": "1700000000000",
        "result": "SUCCESS",
        "artifacts": [
            {
                "fileName": "app.deb",
                "displayPath": "app.deb",
                "relativePath": "build/app.deb",
                "reference": "build/app.deb",
                "name": "app",
                "type": "jenkins/file",
                "version": "12",
                "decorated": False,
            },
            {
                "fileName": "build.properties",
                "displayPath": "build.properties",
                "relativePath": "build/build.properties",
                "reference": "build/build.properties",
                "name": "app",
                "type": "jenkins/file",
                "version": "12",
                "decorated": False,
            },
        ],
        "testResults": [{"failCount": 1, "skipCount": 2, "totalCount": 30, "urlName": "testReport"}],
        "url": "https://ci.example.com/job/app/12/",
        "id": "app-12",
        "scm": [
            {
                "name": "refs/remotes/origin/main",
                "branch": "main",
                "sha1": "c0ffee",
                "remoteUrl": "https://github.com/acme/app.git",
            }
        ],
    }


def test_build_info_of_a_running_build_leaves_out_what_is_not_there() -> None:
    running: dict[str, Any] = {
        "building": True,
        "number": 3,
        "result": None,
        "duration": 0,
        "timestamp": 5,
        "url": "u",
        "actions": [],
    }
    assert builds.build_info("folder/job/app", running) == {
        "building": True,
        "name": "folder/job/app",
        "number": 3,
        "duration": 0,
        "timestamp": "5",
        "url": "u",
        "id": "folder/job/app-3",
    }


def test_artifact_filter_keeps_twenty_preferred_first() -> None:
    many = [{"fileName": f"lib{i}.jar"} for i in range(25)] + [{"fileName": "a.deb"}, {"fileName": "b.properties"}]
    kept = builds.filter_artifacts(many)
    assert len(kept) == 20
    assert [a["fileName"] for a in kept[:2]] == ["a.deb", "b.properties"]
    assert builds.filter_artifacts(many[:3]) == many[:3]


def test_build_summary_is_igors_build_list_entry() -> None:
    assert builds.build_summary(BUILD) == {
        "building": False,
        "number": 12,
        "result": "SUCCESS",
        "timestamp": "1700000000000",
        "duration": 61000,
        "url": "https://ci.example.com/job/app/12/",
        "fullDisplayName": "app #12",
        "testResults": [{"failCount": 1, "skipCount": 2, "totalCount": 30, "urlName": "testReport"}],
    }


def test_job_config_is_igors() -> None:
    job = {
        "name": "app",
        "displayName": "app",
        "description": "",
        "url": "https://ci.example.com/job/app/",
        "buildable": True,
        "color": "blue",
        "concurrentBuild": False,
        "upstreamProjects": [{"name": "lib", "url": "https://ci.example.com/job/lib/", "color": "blue"}],
        "downstreamProjects": [],
        "property": [
            {
                "_class": "hudson.model.ParametersDefinitionProperty",
                "parameterDefinitions": [
                    {
                        "defaultParameterValue": {"name": "ENV", "value": "dev"},
                        "description": "where",
                        "name": "ENV",
                        "type": "ChoiceParameterDefinition",
                        "choices": ["dev", "prod"],
                    },
                    {
                        "defaultParameterValue": {"name": "FLAG", "value": True},
                        "name": "FLAG",
                        "type": "BooleanParameterDefinition",
                    },
                ],
            }
        ],
    }
    assert builds.job_config(job) == {
        "description": None,
        "displayName": "app",
        "name": "app",
        "buildable": True,
        "color": "blue",
        "url": "https://ci.example.com/job/app/",
        "parameterDefinitionList": [
            {
                "defaultParameterValue": {"name": "ENV", "value": "dev"},
                "name": "ENV",
                "description": "where",
                "type": "ChoiceParameterDefinition",
                "defaultValue": "dev",
                "defaultName": "ENV",
                "choices": ["dev", "prod"],
            },
            {
                "defaultParameterValue": {"name": "FLAG", "value": "true"},
                "name": "FLAG",
                "description": None,
                "type": "BooleanParameterDefinition",
                "defaultValue": "true",
                "defaultName": "FLAG",
            },
        ],
        "upstreamProjectList": [{"name": "lib", "url": "https://ci.example.com/job/lib/", "color": "blue"}],
        "downstreamProjectList": None,
        "concurrentBuild": False,
    }


def test_job_names_skip_folders() -> None:
    jobs: list[dict[str, Any]] = [
        {"name": "app", "fullname": "app"},
        {"name": "team", "fullname": "team", "jobs": [{}]},
        {"name": "svc", "fullname": "team/svc"},
        {"name": "empty", "fullname": "empty", "jobs": []},
    ]
    assert builds.job_names(jobs) == ["app", "team/job/svc"]
