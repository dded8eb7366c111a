"""The SDK's ``travis`` and ``github-actions`` triggers and the CI stages' field errors."""

from __future__ import annotations

from typing import Any

import pytest

from gennaker.pipelines import GitHubActions, GitHubActionsTrigger, Pipeline, PipelineBuildError, Travis, TravisTrigger


def triggers_of(*triggers: Any) -> list[dict[str, Any]]:
    pipeline = Pipeline("p", application="app", triggers=list(triggers))
    return list(pipeline.to_json()["triggers"])


def test_ci_triggers() -> None:
    assert triggers_of(
        TravisTrigger("travis", "org/app/main", property_file="log", payload_constraints={"version": "2.*"}),
        GitHubActionsTrigger("gha", "org/app/ci.yml", property_file="build.properties"),
    ) == [
        {
            "type": "travis",
            "enabled": True,
            "master": "travis",
            "job": "org/app/main",
            "propertyFile": "log",
            "payloadConstraints": {"version": "2.*"},
        },
        {
            "type": "github-actions",
            "enabled": True,
            "master": "gha",
            "job": "org/app/ci.yml",
            "propertyFile": "build.properties",
        },
    ]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TravisTrigger("travis", ""), r"TravisTrigger\('travis'\)\.job: must be a non-empty string"),
        (lambda: GitHubActionsTrigger("", "org/app/ci.yml"), r"\.master: must be a non-empty string"),
        (lambda: Pipeline("p", application="a", stages=[Travis("t", "")]).to_json(), r"job: must be a non-empty"),
        (
            lambda: Pipeline(
                "p", application="a", stages=[GitHubActions("g", "o/r/x.yml", {str(i): i for i in range(26)})]
            ).to_json(),
            "at most 25",
        ),
    ],
)
def test_field_errors_name_the_field(build: Any, message: str) -> None:
    with pytest.raises(PipelineBuildError, match=message):
        build()
