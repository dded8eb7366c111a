"""``git`` triggers: source/project/slug, branch regexes, events, and the trigger the execution gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations.triggers.events import Event, make_event, match_event

PAYLOADS = Path(__file__).parent / "payloads"


def push(provider: str = "github", name: str = "github_push.json", **headers: str) -> Event:
    return make_event("git", provider, (PAYLOADS / name).read_bytes(), headers)


def git_trigger(**fields: Any) -> dict[str, Any]:
    return {
        "type": "git",
        "enabled": True,
        "source": "github",
        "project": "example-org",
        "slug": "demo-service",
    } | fields


def fired(event: Event, *triggers: dict[str, Any]) -> int:
    return len(match_event(event, [{"id": "p1", "triggers": list(triggers)}]).matches)


def test_the_trigger_an_execution_gets_from_a_push() -> None:
    config = git_trigger(branch="main", tag="stale", buildNumber=3)
    configs = [{"id": "p1", "parameterConfig": [{"name": "env", "default": "staging"}], "triggers": [config]}]
    [match] = match_event(push(**{"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}), configs).matches
    contents = "https://api.github.com/repos/example-org/demo-service/contents/"
    sha = "2a7f0c9d4e5b6a7c8d9e0f1a2b3c4d5e6f7a8b9c"
    assert match.trigger == {
        "type": "git",
        "enabled": True,
        "source": "github",
        "project": "example-org",
        "slug": "demo-service",
        "branch": "main",
        "hash": sha,
        "action": "push:push",
        "eventId": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "user": "anonymous",
        "parameters": {"env": "staging"},
        "artifacts": [
            {"type": "github/file", "name": n, "version": sha, "reference": contents + n}
            for n in ("deploy/manifest.yml", "README.md", "deploy/values.yml")
        ],
        "notifications": [],
        "rebake": False,
        "dryRun": False,
        "strategy": False,
    }


def test_the_branch_on_the_trigger_is_the_pushed_branch_not_the_regex() -> None:
    [match] = match_event(push(), [{"id": "p1", "triggers": [git_trigger(branch="ma.*")]}]).matches
    assert match.trigger["branch"] == "main"


def test_a_pull_request_adds_its_properties() -> None:
    event = push("github", "github_pull_request.json", **{"X-GitHub-Event": "pull_request"})
    [match] = match_event(event, [{"id": "p1", "triggers": [git_trigger(properties={"kept": 1})]}]).matches
    assert match.trigger["action"] == "pull_request:opened"
    assert match.trigger["hash"] == "3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"
    assert match.trigger["properties"] == {
        "kept": 1,
        "number": 7,
        "draft": False,
        "state": "open",
        "title": "Raise the memory limit",
    }


@pytest.mark.parametrize(
    ("branch", "pushed", "fires"),
    [
        (None, "main", True),
        ("", "main", True),
        ("main", "main", True),
        ("main", "main2", False),  # a full match, not a search
        ("mai", "main", False),
        ("ma.*", "main", True),
        ("release/.*", "release/1.2", True),
        ("release/.*", "hotfix/release/1.2", False),
        ("(main|develop)", "develop", True),
        ("refs/heads/main", "main", False),  # the pushed branch has lost its refs/heads/
        ("refs/tags/.*", "refs/tags/v1.0.0", True),  # tags keep their whole ref
        ("v.*", "refs/tags/v1.0.0", False),
        ("feature/[a-z]+-\\d+", "feature/abc-12", True),
    ],
)
def test_branch_regexes(branch: str | None, pushed: str, fires: bool) -> None:
    ref = pushed if pushed.startswith("refs/tags/") else f"refs/heads/{pushed}"
    body = (PAYLOADS / "github_push.json").read_text().replace('"refs/heads/main"', f'"{ref}"')
    event = make_event("git", "github", body.encode(), {})
    assert fired(event, git_trigger(branch=branch)) == int(fires)


def test_an_invalid_branch_regex_refuses_the_trigger() -> None:
    result = match_event(push(), [{"id": "p1", "triggers": [git_trigger(branch="(main")]}])
    assert result.matches == []
    assert result.refused == [("p1", "branch: '(main' is not a valid regular expression")]


@pytest.mark.parametrize(
    ("fields", "fires"),
    [
        ({}, True),
        ({"source": "GitHub"}, True),  # source, project and slug ignore case
        ({"project": "EXAMPLE-ORG", "slug": "Demo-Service"}, True),
        ({"source": "gitlab"}, False),
        ({"project": "someone-else"}, False),
        ({"slug": "demo"}, False),
        ({"project": None}, False),  # a trigger missing source, project or slug never fires
        ({"slug": None}, False),
        ({"source": None}, False),
        ({"enabled": "false"}, False),
        ({"events": []}, True),
        ({"events": ["push:push"]}, True),
        ({"events": ["pull_request:opened"]}, False),
    ],
)
def test_repository_and_events(fields: dict[str, Any], fires: bool) -> None:
    assert fired(push(), git_trigger(**fields)) == int(fires)


def test_a_disabled_pipeline_never_fires() -> None:
    for disabled in (True, "true"):
        configs = [{"id": "p1", "disabled": disabled, "triggers": [git_trigger()]}]
        assert match_event(push(), configs).matches == []


def test_gitlab_push() -> None:
    trigger = git_trigger(source="gitlab", project="platform", slug="payments", branch="develop")
    [match] = match_event(push("gitlab", "gitlab_push.json"), [{"id": "p1", "triggers": [trigger]}]).matches
    assert (match.trigger["hash"], match.trigger["action"]) == ("5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e", "push")


def test_bitbucket_cloud_push_and_its_events_filter() -> None:
    base = git_trigger(source="bitbucket", project="INV", slug="example-team/inventory")
    event = push("bitbucket", "bitbucket_cloud_push.json", **{"X-Event-Key": "repo:push"})
    assert fired(event, base) == 1
    assert fired(event, base | {"events": ["repo:push"]}) == 1
    assert fired(event, base | {"events": ["pullrequest:fulfilled"]}) == 0


def test_bitbucket_server_refs_changed() -> None:
    trigger = git_trigger(source="bitbucket", project="fin", slug="billing-api", branch="release/.*")
    event = push("bitbucket", "bitbucket_server_refs_changed.json", **{"X-Event-Key": "repo:refs_changed"})
    [match] = match_event(event, [{"id": "p1", "triggers": [trigger]}]).matches
    assert match.trigger["hash"] == "8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b"
    assert match.trigger["eventId"] == event.event_id


def test_stash_push() -> None:
    trigger = git_trigger(source="stash", project="OPS", slug="ledger", branch="master")
    [match] = match_event(push("stash", "stash_refs_changed.json"), [{"id": "p1", "triggers": [trigger]}]).matches
    assert match.trigger["action"] == ""


def test_an_unknown_bitbucket_event_is_processed_but_matches_nothing() -> None:
    trigger = git_trigger(source="bitbucket", project="", slug="")
    event = make_event("git", "bitbucket", b'{"test": true}', {"X-Event-Key": "diagnostics:ping"})
    result = match_event(event, [{"id": "p1", "triggers": [trigger]}])
    assert result.event_processed and result.matches == [] and result.refused == []


@pytest.mark.parametrize(
    ("provider", "name", "headers", "reason"),
    [
        ("github", "github_ping.json", {"X-GitHub-Event": "ping"}, "GitHub ping"),
        ("bitbucket", None, {"X-Event-Key": "repo:refs_changed"}, "empty Bitbucket event"),
    ],
)
def test_ignored_events(provider: str, name: str | None, headers: dict[str, str], reason: str) -> None:
    body = b"" if name is None else (PAYLOADS / name).read_bytes()
    result = match_event(make_event("git", provider, body, headers), [{"id": "p1", "triggers": [git_trigger()]}])
    assert not result.event_processed and result.matches == [] and reason in (result.ignored or "")


def test_a_deleted_branch_is_ignored() -> None:
    body = (
        (PAYLOADS / "stash_refs_changed.json").read_text().replace("9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c", "0" * 40)
    )
    result = match_event(make_event("git", "stash", body.encode(), {}), [])
    assert result.ignored == "the pushed ref was deleted (its new hash is all zeros)"


def test_git_triggers_ignore_webhook_events_and_the_other_way_round() -> None:
    body = (PAYLOADS / "github_push.json").read_bytes()
    webhook = {"type": "webhook", "enabled": True, "source": "github"}
    assert len(match_event(make_event("git", "github", body, {}), [{"id": "p", "triggers": [webhook]}]).matches) == 0
    assert (
        len(match_event(make_event("webhook", "github", body, {}), [{"id": "p", "triggers": [git_trigger()]}]).matches)
        == 0
    )
    assert (
        len(match_event(make_event("webhook", "github", body, {}), [{"id": "p", "triggers": [webhook]}]).matches) == 1
    )


def test_header_names_are_read_in_any_case() -> None:
    body = (PAYLOADS / "github_create_branch.json").read_bytes()
    event = Event(
        "git", "github", make_event("git", "github", body, {}).payload, {"X-GitHub-Event": "delete"}, body, "e"
    )
    [match] = match_event(event, [{"id": "p1", "triggers": [git_trigger(events=["branch:delete"])]}]).matches
    assert match.trigger["action"] == "branch:delete"
