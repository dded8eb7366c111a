"""Reading each git provider's webhook as Echo does: project, slug, branch, hash, action, artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrations.triggers.events import GitEvent, TriggerError, parse_git_event

PAYLOADS = Path(__file__).parent / "payloads"


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def test_github_push() -> None:
    event = parse_git_event("github", load("github_push.json"), {"x-github-event": "push"})
    assert event is not None
    assert (event.project, event.slug, event.branch, event.hash, event.action) == (
        "example-org",
        "demo-service",
        "main",
        "2a7f0c9d4e5b6a7c8d9e0f1a2b3c4d5e6f7a8b9c",
        "push:push",
    )
    assert event.repository == "example-org/demo-service"
    assert event.properties == {}


def test_github_push_makes_file_artifacts_for_added_and_modified_files() -> None:
    event = parse_git_event("github", load("github_push.json"), {})
    assert event is not None
    contents = "https://api.github.com/repos/example-org/demo-service/contents/"
    sha = "2a7f0c9d4e5b6a7c8d9e0f1a2b3c4d5e6f7a8b9c"
    assert event.artifacts == [
        {"type": "github/file", "name": name, "version": sha, "reference": contents + name}
        for name in ("deploy/manifest.yml", "README.md", "deploy/values.yml")
    ]


def test_payload_artifacts_win_over_extracted_ones() -> None:
    payload = load("github_push.json") | {"artifacts": [{"type": "docker/image", "name": "gcr.io/p/app"}]}
    event = parse_git_event("github", payload, {})
    assert event is not None and event.artifacts == [{"type": "docker/image", "name": "gcr.io/p/app"}]


def test_github_pull_request_uses_the_head_and_owner_login() -> None:
    event = parse_git_event("github", load("github_pull_request.json"), {"x-github-event": "pull_request"})
    assert event is not None
    assert (event.project, event.slug, event.branch, event.hash, event.action) == (
        "example-org",
        "demo-service",
        "feature/memory",
        "3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d",
        "pull_request:opened",
    )
    assert event.properties == {"number": 7, "draft": False, "state": "open", "title": "Raise the memory limit"}
    assert event.artifacts == []  # a pull request lists no commits


def test_github_pull_request_without_action() -> None:
    payload = load("github_pull_request.json")
    del payload["action"]
    event = parse_git_event("github", payload, {})
    assert event is not None and event.action == "pull_request:"


def test_github_branch_event_takes_its_action_from_the_event_header() -> None:
    event = parse_git_event("github", load("github_create_branch.json"), {"x-github-event": "create"})
    assert event == GitEvent(
        "github", "example-org", "demo-service", "release/2024.05", "", "branch:create", "example-org/demo-service"
    )


def test_github_ping_is_ignored() -> None:
    assert parse_git_event("github", load("github_ping.json"), {"x-github-event": "ping"}) is None


@pytest.mark.parametrize(
    ("ref", "branch"),
    [
        ("refs/heads/main", "main"),
        ("refs/heads/feature/a", "feature/a"),
        ("refs/tags/v1.2.0", "refs/tags/v1.2.0"),  # tag pushes keep their full ref
        ("main", "main"),
    ],
)
def test_github_push_strips_refs_heads_only(ref: str, branch: str) -> None:
    event = parse_git_event("github", load("github_push.json") | {"ref": ref}, {})
    assert event is not None and event.branch == branch


def test_github_push_with_missing_fields_reads_empty_strings() -> None:
    event = parse_git_event("github", {}, {})
    assert event == GitEvent("github", "", "", "", "", "push:push", "")


def test_gitlab_push() -> None:
    event = parse_git_event("gitlab", load("gitlab_push.json"), {"x-gitlab-event": "Push Hook"})
    assert event is not None
    assert (event.project, event.slug, event.branch, event.hash, event.action) == (
        "platform",
        "payments",
        "develop",
        "5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e",
        "push",
    )


def test_gitlab_push_makes_file_artifacts_with_api_urls() -> None:
    event = parse_git_event("gitlab", load("gitlab_push.json"), {})
    assert event is not None
    api = "https://gitlab.example.invalid/api/v4/projects/platform%2Fpayments/repository/files"
    sha = "5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e"
    assert event.artifacts == [
        {
            "type": "gitlab/file",
            "name": "charts/payments values.yaml",
            "version": sha,
            "reference": f"{api}/charts%2Fpayments+values.yaml/raw",
        },
        {
            "type": "gitlab/file",
            "name": "charts/Chart.yaml",
            "version": sha,
            "reference": f"{api}/charts%2FChart.yaml/raw",
        },
    ]


def test_gitlab_tag_push_keeps_the_tag_ref() -> None:
    payload = load("gitlab_push.json") | {"object_kind": "tag_push", "ref": "refs/tags/v3.0.0"}
    event = parse_git_event("gitlab", payload, {})
    assert event is not None and (event.branch, event.action) == ("refs/tags/v3.0.0", "tag_push")


def test_gitlab_merge_request_cannot_be_read() -> None:
    with pytest.raises(TriggerError, match=r"^ref: "):
        parse_git_event("gitlab", load("gitlab_merge_request.json"), {})


def test_gitlab_without_project_names_the_field() -> None:
    with pytest.raises(TriggerError, match=r"^project: "):
        parse_git_event("gitlab", {"ref": "refs/heads/main"}, {})


def test_bitbucket_cloud_push_falls_back_to_the_project_key() -> None:
    event = parse_git_event("bitbucket", load("bitbucket_cloud_push.json"), {"x-event-key": "repo:push"})
    assert event is not None
    assert (event.project, event.slug, event.branch, event.hash, event.action) == (
        "INV",
        "example-team/inventory",  # Echo's slug for Bitbucket Cloud is the full name
        "master",
        "7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a",
        "repo:push",
    )


def test_bitbucket_cloud_owner_username_wins() -> None:
    payload = load("bitbucket_cloud_push.json")
    payload["repository"]["owner"]["username"] = "example-team"
    event = parse_git_event("bitbucket", payload, {"x-event-key": "repo:push"})
    assert event is not None and event.project == "example-team"


def test_bitbucket_cloud_fulfilled_pull_request_uses_the_merge_commit() -> None:
    payload = {
        "pullrequest": {
            "id": 12,
            "state": "MERGED",
            "merge_commit": {"hash": "abcdef0123456789abcdef0123456789abcdef01"},
            "destination": {"branch": {"name": "master"}, "repository": {"full_name": "example-team/inventory"}},
            "source": {"branch": {"name": "feature/y"}},
        },
        "repository": load("bitbucket_cloud_push.json")["repository"],
    }
    event = parse_git_event("bitbucket", payload, {"x-event-key": "pullrequest:fulfilled"})
    assert event is not None
    assert (event.branch, event.hash, event.action) == (
        "master",
        "abcdef0123456789abcdef0123456789abcdef01",
        "pullrequest:fulfilled",
    )


def test_bitbucket_server_refs_changed() -> None:
    event = parse_git_event(
        "bitbucket", load("bitbucket_server_refs_changed.json"), {"x-event-key": "repo:refs_changed"}
    )
    assert event is not None
    assert (event.project, event.slug, event.branch, event.hash, event.action) == (
        "FIN",
        "billing-api",
        "release/1.4",
        "8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b",
        "repo:refs_changed",
    )


def _server_pull_request(**extra: Any) -> dict[str, Any]:
    repo = {"slug": "billing-api", "name": "Billing API", "project": {"key": "FIN"}}
    return {
        "eventKey": "pr:opened",
        "pullRequest": {
            "id": 4,
            "fromRef": {"id": "refs/heads/feature/z", "latestCommit": "f" * 40, "repository": repo},
            "toRef": {"id": "refs/heads/main", "latestCommit": "e" * 40, "repository": repo},
            **extra,
        },
    }


@pytest.mark.parametrize(
    ("key", "branch", "hash_"),
    [
        ("pr:opened", "feature/z", "f" * 40),
        ("pr:from_ref_updated", "feature/z", "f" * 40),
        ("pr:declined", "feature/z", "f" * 40),
        ("pr:deleted", "feature/z", "f" * 40),
        ("pr:merged", "main", "d" * 40),
    ],
)
def test_bitbucket_server_pull_requests(key: str, branch: str, hash_: str) -> None:
    payload = _server_pull_request(properties={"mergeCommit": {"id": "d" * 40}})
    event = parse_git_event("bitbucket", payload, {"x-event-key": key})
    assert event == GitEvent("bitbucket", "FIN", "billing-api", branch, hash_, key, "billing-api")


@pytest.mark.parametrize("key", [None, "diagnostics:ping", "repo:modified"])
def test_bitbucket_unknown_event_key_reads_nothing_to_match(key: str | None) -> None:
    headers = {} if key is None else {"x-event-key": key}
    event = parse_git_event("bitbucket", {"test": True}, headers)
    assert event == GitEvent("bitbucket", None, None, None, None, key)


def test_bitbucket_empty_body_is_ignored() -> None:
    assert parse_git_event("bitbucket", {}, {"x-event-key": "repo:refs_changed"}) is None


def test_bitbucket_deleted_branch_is_ignored() -> None:
    payload = load("bitbucket_server_refs_changed.json")
    payload["changes"][0]["toHash"] = "0" * 40
    assert parse_git_event("bitbucket", payload, {"x-event-key": "repo:refs_changed"}) is None


def test_stash_legacy_ref_changes() -> None:
    event = parse_git_event("stash", load("stash_refs_changed.json"), {})
    assert event == GitEvent(
        "stash", "OPS", "ledger", "master", "9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c", "", "ledger"
    )


def test_stash_reads_bitbucket_server_changes_too() -> None:
    event = parse_git_event("stash", load("bitbucket_server_refs_changed.json"), {})
    assert event is not None
    assert (event.project, event.slug, event.branch, event.action) == ("FIN", "billing-api", "release/1.4", "")


def test_stash_deleted_branch_is_ignored() -> None:
    payload = load("stash_refs_changed.json")
    payload["refChanges"][0]["toHash"] = "0" * 40
    assert parse_git_event("stash", payload, {}) is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"repository": {"slug": "a", "project": {"key": "B"}}}, "refChanges"),
        ({"refChanges": [], "repository": {"slug": "a", "project": {"key": "B"}}}, "refChanges"),
        ({"refChanges": [{"toHash": "1" * 40}], "repository": {"slug": "a", "project": {"key": "B"}}}, "refId"),
        ({"refChanges": [{"refId": "refs/heads/x", "toHash": "1" * 40}]}, "repository"),
    ],
)
def test_stash_unusable_payloads_name_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(TriggerError, match=field):
        parse_git_event("stash", payload, {})


def test_non_string_fields_are_refused_by_name() -> None:
    with pytest.raises(TriggerError, match=r"^after: must be a string"):
        parse_git_event("github", {"after": {"sha": "x"}}, {})


def test_numbers_read_as_text_as_jackson_does() -> None:
    event = parse_git_event("gitlab", {"ref": 12, "project": {"name": 7, "namespace": "n"}}, {})
    assert event is not None and (event.branch, event.slug) == ("12", "7")


def test_unknown_provider() -> None:
    with pytest.raises(TriggerError, match=r"^source: unknown git provider 'gitea'"):
        parse_git_event("gitea", {}, {})
