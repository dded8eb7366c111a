"""Building an ``Event`` from a request: the body, header names, and the event id used for de-duplication."""

from __future__ import annotations

import re
import uuid

import pytest

from integrations.triggers.events import Event, MatchResult, TriggerError, event_id_for, make_event, match_event

BODY = b'{"branch": "main"}'


@pytest.mark.parametrize(
    ("kind", "source", "headers", "event_id"),
    [
        (
            "git",
            "github",
            {"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        ),
        (
            "git",
            "gitlab",
            {"X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"},
            "13792a34-cac6-4fda-95a8-c58e00a3954e",
        ),
        (
            "git",
            "bitbucket",
            {"X-Request-UUID": "fe2a1c0b-3b43-4a53-9c0e-1f1f6a4f1e11"},
            "fe2a1c0b-3b43-4a53-9c0e-1f1f6a4f1e11",
        ),
        ("git", "bitbucket", {"X-Request-Id": "bb-server-1"}, "bb-server-1"),
        ("git", "stash", {"X-Request-Id": "stash-1"}, "stash-1"),
        ("webhook", "github", {"X-GitHub-Delivery": "gh-1"}, "gh-1"),
        ("git", "github", {"X-GitHub-Delivery": "  gh-2  "}, "gh-2"),
    ],
)
def test_delivery_ids(kind: str, source: str, headers: dict[str, str], event_id: str) -> None:
    assert make_event(kind, source, BODY, headers).event_id == event_id


def test_a_generic_request_id_only_counts_for_bitbucket_server() -> None:
    webhook = make_event("webhook", "ci", BODY, {"X-Request-Id": "proxy-1"})
    assert webhook.event_id != "proxy-1"
    assert webhook.event_id == make_event("webhook", "ci", BODY, {}).event_id


def test_without_a_delivery_id_the_id_derives_from_kind_source_and_body() -> None:
    first = event_id_for("webhook", "ci", BODY, {})
    assert uuid.UUID(first).version == 5
    assert first == event_id_for("webhook", "ci", BODY, {"Content-Type": "application/json"})
    assert first != event_id_for("webhook", "ci", BODY + b" ", {})
    assert first != event_id_for("webhook", "cd", BODY, {})
    assert first != event_id_for("git", "ci", BODY, {})


@pytest.mark.parametrize("value", ["", "   ", "x" * 201, "bad\nid"])
def test_unusable_delivery_ids_fall_back_to_the_body_hash(value: str) -> None:
    assert make_event("git", "github", BODY, {"X-GitHub-Delivery": value}).event_id == event_id_for(
        "git", "github", BODY, {}
    )


def test_header_names_are_lower_cased_and_the_first_spelling_wins() -> None:
    event = make_event("webhook", "ci", BODY, {"X-Event-Key": "a", "x-event-key": "b", "Content-Type": "json"})
    assert dict(event.headers) == {"x-event-key": "a", "content-type": "json"}
    assert event == Event("webhook", "ci", {"branch": "main"}, event.headers, BODY, event.event_id)


@pytest.mark.parametrize(
    ("kind", "source", "body", "message"),
    [
        ("webhook", "ci", b"", "body: empty"),
        ("webhook", "ci", b"  \n", "body: empty"),
        ("git", "github", b"", "body: empty"),
        ("webhook", "ci", b"{not json", "body: not valid JSON (Expecting property name"),
        ("webhook", "ci", b"[1, 2]", "body: must be a JSON object"),
        ("webhook", "ci", b'"text"', "body: must be a JSON object"),
        ("webhook", "ci", b'{"n": NaN}', "body: NaN is not JSON"),
        ("webhook", "ci", b"\xff\xfe", "body: not UTF-8"),
        ("cron", "ci", BODY, "kind: unknown event kind 'cron'"),
        ("webhook", "", BODY, "source: empty"),
        ("git", "gitea", BODY, "source: unknown git provider 'gitea'"),
    ],
)
def test_unusable_requests(kind: str, source: str, body: bytes, message: str) -> None:
    with pytest.raises(TriggerError, match="^" + re.escape(message)):
        make_event(kind, source, body, {})


def test_bitbucket_may_post_an_empty_body() -> None:
    assert make_event("git", "bitbucket", b"", {}).payload == {}


def test_the_body_is_not_echoed_in_errors() -> None:
    with pytest.raises(TriggerError) as caught:
        make_event("webhook", "ci", b'{"password": "hunter2"', {})
    assert "hunter2" not in str(caught.value)


def test_results_say_whether_the_event_was_processed() -> None:
    assert MatchResult().event_processed
    assert not MatchResult(ignored="ping").event_processed


def test_match_event_refuses_an_unknown_kind() -> None:
    with pytest.raises(TriggerError, match=r"^kind: "):
        match_event(Event("docker", "x", {}, {}, b"", "id"), [])


def test_pipelines_may_be_any_iterable_and_junk_is_skipped() -> None:
    configs = iter(
        [
            None,
            "junk",
            {"id": "p", "triggers": None},
            {"id": "q", "triggers": ["x", {"type": "webhook", "enabled": True, "source": "ci"}]},
        ]
    )
    result = match_event(make_event("webhook", "ci", BODY, {}), configs)
    assert [m.pipeline["id"] for m in result.matches] == ["q"]
