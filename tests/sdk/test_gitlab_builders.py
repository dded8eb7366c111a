"""The SDK's ``gitlab-ci`` builders: the stage and the trigger as Spinnaker JSON, field errors naming the field."""

from __future__ import annotations

import pytest

from gennaker.pipelines import GitLabCi, GitLabCiTrigger, Pipeline, PipelineBuildError


def test_gitlab_ci_stage_and_trigger() -> None:
    trigger = GitLabCiTrigger("gitlab", "group/app", property_file="build.properties", payload_constraints={"V": "2"})
    stage = GitLabCi("gitlab", "group/app", {"TARGET": "release"}, ref="v2.0", property_file="build.properties")
    built = Pipeline("p", application="app", triggers=[trigger], stages=[stage]).to_json()
    assert built["triggers"] == [
        {
            "type": "gitlab-ci",
            "enabled": True,
            "master": "gitlab",
            "job": "group/app",
            "propertyFile": "build.properties",
            "payloadConstraints": {"V": "2"},
        }
    ]
    [out] = built["stages"]
    assert (out["type"], out["master"], out["job"], out["ref"], out["parameters"], out["propertyFile"]) == (
        "gitlab-ci",
        "gitlab",
        "group/app",
        "v2.0",
        {"TARGET": "release"},
        "build.properties",
    )


def test_a_trigger_without_a_job_names_the_field() -> None:
    with pytest.raises(PipelineBuildError, match=r"GitLabCiTrigger\('gitlab-ci'\)\.job: must be a non-empty string"):
        GitLabCiTrigger("gitlab", "")
