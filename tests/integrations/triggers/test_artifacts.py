"""kork's ``ExpectedArtifact.matches``, the gate Echo puts on ``expectedArtifactIds``."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.triggers.artifacts import (
    expected_artifact_matches,
    expected_artifacts_satisfied,
    file_artifacts,
    matching_expected_ids,
)

IMAGE = {"type": "docker/image", "name": "gcr.io/p/app", "version": "v1.2", "reference": "gcr.io/p/app:v1.2"}


@pytest.mark.parametrize(
    ("match", "artifact", "expected"),
    [
        ({}, IMAGE, True),  # an empty matchArtifact takes anything
        ({"type": "docker/image"}, IMAGE, True),
        ({"type": "docker/.*"}, IMAGE, True),
        ({"type": "docker"}, IMAGE, False),  # a full match
        ({"name": "gcr.io/p/app"}, IMAGE, True),
        ({"name": "gcr.io/p/.*", "version": "v1\\..*"}, IMAGE, True),
        ({"name": "gcr.io/p/app", "version": "v2.*"}, IMAGE, False),
        ({"name": "", "version": None}, IMAGE, True),
        ({"location": "us"}, IMAGE, False),  # the artifact has no location
        ({"name": "(unclosed"}, IMAGE, False),
        ({"reference": "a+b=="}, {"type": "embedded/base64", "reference": "a+b=="}, True),  # equal text wins
        ({"type": "embedded/base64"}, {"type": "remote/base64"}, True),
        ({"type": "remote/base64"}, {"type": "embedded/base64"}, True),
        ({"type": "embedded/base64"}, {"type": "docker/image"}, False),
        ({"type": "docker/image"}, {"name": "no type"}, False),
    ],
)
def test_expected_artifact_matches(match: dict[str, Any], artifact: dict[str, Any], expected: bool) -> None:
    assert expected_artifact_matches({"id": "e", "matchArtifact": match}, artifact) is expected


def test_a_missing_match_artifact_takes_anything() -> None:
    assert expected_artifact_matches({"id": "e"}, IMAGE)


@pytest.mark.parametrize(
    ("ids", "expected_artifacts", "artifacts", "satisfied"),
    [
        (None, [], [], True),
        ([], [], [], True),
        (["e1"], [{"id": "e1", "matchArtifact": {"name": "gcr.io/p/app"}}], [IMAGE], True),
        (["e1"], [{"id": "e1", "matchArtifact": {"name": "other"}}], [IMAGE], False),
        (["e1"], [{"id": "e2", "matchArtifact": {}}], [IMAGE], False),  # the id names no expected artifact
        (["e1"], [{"id": "e1", "matchArtifact": {}}], [], False),  # nothing received
    ],
)
def test_expected_artifacts_satisfied(
    ids: list[str] | None, expected_artifacts: list[dict[str, Any]], artifacts: list[dict[str, Any]], satisfied: bool
) -> None:
    trigger = {"expectedArtifactIds": ids}
    assert expected_artifacts_satisfied(trigger, {"expectedArtifacts": expected_artifacts}, artifacts) is satisfied


def test_matching_expected_ids() -> None:
    pipeline = {
        "expectedArtifacts": [
            {"id": "a", "matchArtifact": {"type": "docker/image"}},
            {"id": "b", "matchArtifact": {"type": "github/file"}},
            {"matchArtifact": {}},
            "junk",
        ]
    }
    assert matching_expected_ids(pipeline, [IMAGE]) == ["a"]


def test_file_artifacts_only_for_github_and_gitlab_pushes() -> None:
    push = {"after": "abc", "commits": [{"added": ["a.yml"], "modified": []}]}
    assert file_artifacts("stash", push) == []
    assert file_artifacts("github", push) == []  # no contents_url to point at
    assert file_artifacts("gitlab", push | {"project": {"homepage": "https://gl"}}) == []
    github = push | {"repository": {"contents_url": "https://api/contents/{+path}"}}
    assert file_artifacts("github", github) == [
        {"type": "github/file", "name": "a.yml", "version": "abc", "reference": "https://api/contents/a.yml"}
    ]
    assert file_artifacts("github", github | {"after": None})[0].keys() == {"type", "name", "reference"}
