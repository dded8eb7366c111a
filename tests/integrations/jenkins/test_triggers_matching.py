"""Echo's ``BuildEventHandler`` as tables: which pipelines a finished build fires, and the trigger they get."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.jenkins.triggers import (
    build_jenkins_trigger,
    constraints_met,
    event_id,
    is_successful_build,
    jenkins_trigger_matches,
    property_file,
)


def pipeline(pid: str, *triggers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": pid, "application": "app", "name": pid, "triggers": list(triggers), **extra}


def jenkins(master: str = "ci", job: str = "build", **extra: Any) -> dict[str, Any]:
    return {"type": "jenkins", "enabled": True, "master": master, "job": job, **extra}


PIPELINES = [
    pipeline("fires", jenkins()),
    pipeline("folder", jenkins(job="team/job/build")),
    pipeline("other-master", jenkins(master="ci2")),
    pipeline("other-job", jenkins(job="build-2")),
    pipeline("disabled-trigger", jenkins(enabled=False)),
    pipeline("enabled-as-text", jenkins(enabled="true")),
    pipeline("disabled-pipeline", jenkins(), disabled=True),
    pipeline("travis-type", {**jenkins(), "type": "travis"}),
    pipeline("no-master", {"type": "jenkins", "enabled": True, "job": "build"}),
    pipeline("twice", jenkins(propertyFile="a.properties"), jenkins(propertyFile="b.properties")),
    pipeline("job-case", jenkins(job="Build")),
    "not a pipeline",
]


@pytest.mark.parametrize(
    ("result", "building", "job", "expected"),
    [
        pytest.param("SUCCESS", False, "build", ["fires", "enabled-as-text", "twice"], id="success"),
        pytest.param("SUCCESS", False, "team/job/build", ["folder"], id="folder-job"),
        pytest.param("UNSTABLE", False, "build", [], id="unstable-never-fires"),
        pytest.param("FAILURE", False, "build", [], id="failure"),
        pytest.param("ABORTED", False, "build", [], id="aborted"),
        pytest.param("NOT_BUILT", False, "build", [], id="not-built"),
        pytest.param(None, True, "build", [], id="building"),
        pytest.param("SUCCESS", True, "build", [], id="success-but-building"),
        pytest.param("SUCCESS", False, "nobody-listens", [], id="no-trigger"),
    ],
)
def test_matches(result: Any, building: bool, job: str, expected: list[str]) -> None:
    found = jenkins_trigger_matches("ci", job, result, PIPELINES, building=building)
    assert [p["id"] for p, _ in found] == expected
    assert is_successful_build(result, building) is (result == "SUCCESS" and not building)


def test_a_pipeline_fires_once_with_its_first_matching_trigger() -> None:
    found = jenkins_trigger_matches("ci", "build", "SUCCESS", [PIPELINES[9]])
    assert [t["propertyFile"] for _, t in found] == ["a.properties"]


@pytest.mark.parametrize(
    ("constraints", "properties", "met"),
    [
        pytest.param(None, None, True, id="none"),
        pytest.param({}, None, True, id="empty"),
        pytest.param({"BRANCH": "^main$"}, {"BRANCH": "main"}, True, id="met"),
        pytest.param({"BRANCH": "rel"}, {"BRANCH": "prerelease"}, True, id="regex-search"),
        pytest.param({"BRANCH": "^main$"}, {"BRANCH": "dev"}, False, id="not-met"),
        pytest.param({"BRANCH": "main"}, None, False, id="no-properties"),
        pytest.param({"BRANCH": "main"}, {}, False, id="empty-properties"),
        pytest.param("BRANCH=main", {"BRANCH": "main"}, False, id="not-a-map"),
    ],
)
def test_payload_constraints_on_properties(constraints: Any, properties: Any, met: bool) -> None:
    assert constraints_met({"payloadConstraints": constraints}, properties) is met


def test_property_file_names() -> None:
    assert property_file({"propertyFile": " out.properties "}) == "out.properties"
    assert property_file({"propertyFile": "  "}) is None
    assert property_file({}) is None


def test_the_trigger_carries_the_build() -> None:
    config = jenkins(propertyFile="out.yml", runAsUser=" svc-account ", secret="never shown", rebake="true")
    p = pipeline("p", config, parameterConfig=[{"name": "ENV", "default": "prod"}])
    info = {"number": 12, "result": "SUCCESS", "name": "build", "building": False}
    match = build_jenkins_trigger(
        p,
        config,
        master="ci",
        job="build",
        number=12,
        build_info=info,
        properties={"VERSION": "1.2"},
        link="http://ci/job/build/12/",
        event_key="jenkins:ci:build:12",
    )
    t = match.trigger
    assert {k: t[k] for k in ("type", "master", "job", "buildNumber", "propertyFile", "link")} == {
        "type": "jenkins",
        "master": "ci",
        "job": "build",
        "buildNumber": 12,
        "propertyFile": "out.yml",
        "link": "http://ci/job/build/12/",
    }
    assert t["buildInfo"] == info and t["buildInfo"] is not info
    assert t["properties"] == {"VERSION": "1.2"}
    assert t["parameters"] == {"ENV": "prod"}
    assert t["user"] == "svc-account" and match.run_as_user == "svc-account"
    assert t["rebake"] is True and t["enabled"] is True
    assert "secret" not in t
    assert t["eventId"] == event_id("jenkins:ci:build:12") != event_id("jenkins:ci:build:13")


def test_without_build_info_or_properties() -> None:
    config = jenkins()
    match = build_jenkins_trigger(
        pipeline("p", config),
        config,
        master="ci",
        job="build",
        number=1,
        build_info=None,
        properties=None,
        link=None,
        event_key="k",
    )
    assert "buildInfo" not in match.trigger and "link" not in match.trigger
    assert match.trigger["properties"] == {} and match.trigger["user"] == "anonymous"
