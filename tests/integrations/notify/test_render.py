"""Rendering is pure: tables of events, executions and entries against Echo's texts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from integrations.notify import WHEN_EVENTS, InvalidNotificationError, parse_when, render_message, wants
from integrations.notify.render import (
    Event,
    ExecutionSummary,
    capitalize_words,
    custom_text,
    execution_link,
    html_to_text,
    summarize,
)

BASE = "https://gennaker.example.com"
LINK = f"{BASE}/#/applications/myapp/executions/details/01HEXEC"
JUDGE_LINK = f"{LINK}?refId=3"

PLAIN = ExecutionSummary("myapp", "01HEXEC", "deploy prod", stage_name="Bake", stage_ref_id="3")
JUDGMENT = replace(
    PLAIN,
    stage_name="Approve",
    instructions="Check <b>grafana</b>",
    judgment_input="ship it",
    judged_by="bob",
)


def render(when: str, execution: ExecutionSummary = PLAIN, **entry: Any) -> Any:
    return render_message({"type": "slack", "address": "#deploys", **entry}, when, execution, BASE)


# ---- events ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "level", "status"),
    [
        ("pipeline.starting", "pipeline", "starting"),
        ("pipeline.complete", "pipeline", "complete"),
        ("pipeline.failed", "pipeline", "failed"),
        ("stage.starting", "stage", "starting"),
        ("stage.complete", "stage", "complete"),
        ("stage.failed", "stage", "failed"),
        ("manualJudgment", "manualJudgment", "starting"),
        ("manualJudgmentContinue", "manualJudgment", "complete"),
        ("manualJudgmentStop", "manualJudgment", "failed"),
    ],
)
def test_parse_when(when: str, level: str, status: str) -> None:
    assert parse_when(when) == Event(when, level, status)


@pytest.mark.parametrize(
    "when", ["pipeline.paused", "task.complete", "stage", "", "manualjudgment", "orca:stage:failed"]
)
def test_unknown_when_is_an_error_naming_the_known_events(when: str) -> None:
    with pytest.raises(InvalidNotificationError, match="known events: pipeline.starting"):
        parse_when(when)


def test_when_events_pinned() -> None:
    assert WHEN_EVENTS == (
        "pipeline.starting",
        "pipeline.complete",
        "pipeline.failed",
        "stage.starting",
        "stage.complete",
        "stage.failed",
        "manualJudgment",
        "manualJudgmentContinue",
        "manualJudgmentStop",
    )


@pytest.mark.parametrize(
    ("entry", "when", "expected"),
    [
        ({"when": ["pipeline.failed"]}, "pipeline.failed", True),
        ({"when": ["pipeline.failed"]}, "pipeline.complete", False),
        ({"when": "stage.complete"}, "stage.complete", True),
        ({"when": ["manualJudgment", "manualJudgmentStop"]}, "manualJudgmentStop", True),
        ({"when": ["manualJudgment"]}, "manualJudgmentContinue", False),
        # a judgment entry with manual judgment events does not get the stage's own events (Echo #1506)
        ({"when": ["manualJudgment"]}, "stage.starting", False),
        # Orca's old scheme: no `when` on a judgment notification means "awaiting judgment" only
        ({}, "manualJudgment", True),
        ({"when": []}, "manualJudgmentContinue", False),
        ({}, "pipeline.failed", False),
    ],
)
def test_wants(entry: dict[str, Any], when: str, expected: bool) -> None:
    assert wants(entry, when) is expected


# ---- links -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "app", "execution_id", "ref", "step", "expected"),
    [
        (
            "http://localhost:8084",
            "myapp",
            "01H",
            None,
            False,
            "http://localhost:8084/#/applications/myapp/executions/details/01H",
        ),
        (
            "http://localhost:8084/",
            "myapp",
            "01H",
            None,
            False,
            "http://localhost:8084/#/applications/myapp/executions/details/01H",
        ),
        ("http://h", "my app", "01H", "3", False, "http://h/#/applications/my%20app/executions/details/01H?refId=3"),
        ("http://h", "a", "01H", "3", True, "http://h/#/applications/a/executions/details/01H?refId=3&step=1"),
        ("http://h", "a", "01H", None, True, "http://h/#/applications/a/executions/details/01H"),
    ],
)
def test_execution_link(base: str, app: str, execution_id: str, ref: str | None, step: bool, expected: str) -> None:
    assert execution_link(base, app, execution_id, ref, step) == expected


def test_pipeline_events_link_the_execution_and_judgments_link_the_stage() -> None:
    assert render("pipeline.failed").link == LINK
    assert render("stage.failed").link == LINK
    assert render("manualJudgment", JUDGMENT).link == JUDGE_LINK
    windowed = replace(JUDGMENT, restrict_execution_during_time_window=True)
    assert render("manualJudgment", windowed).link == JUDGE_LINK + "&step=1"


# ---- pipeline and stage texts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "subject", "title", "color"),
    [
        ("pipeline.starting", "myapp's deploy prod pipeline is starting", "Pipeline starting for MYAPP", "#2275B8"),
        (
            "pipeline.complete",
            "myapp's deploy prod pipeline has completed successfully",
            "Pipeline complete for MYAPP",
            "#769D3E",
        ),
        ("pipeline.failed", "myapp's deploy prod pipeline has failed", "Pipeline failed for MYAPP", "#B82525"),
        (
            "stage.starting",
            "Stage Bake for myapp's deploy prod pipeline is starting",
            "Stage starting for MYAPP",
            "#2275B8",
        ),
        (
            "stage.complete",
            "Stage Bake for myapp's deploy prod pipeline has completed successfully",
            "Stage complete for MYAPP",
            "#769D3E",
        ),
        ("stage.failed", "Stage Bake for myapp's deploy prod pipeline has failed", "Stage failed for MYAPP", "#B82525"),
    ],
)
def test_pipeline_and_stage_defaults(when: str, subject: str, title: str, color: str) -> None:
    message = render(when)
    assert message.subject == subject
    assert message.headline == subject
    assert message.title == title
    assert message.color == color
    assert message.text == f"{subject}\n\nTo see more details, please visit:\n{LINK}"
    # Slack: the application capitalized, the pipeline name linked (SlackNotificationAgent)
    slack_subject = subject.replace("myapp's deploy prod", f"Myapp's <{LINK}|deploy prod>")
    assert message.markdown == slack_subject
    assert f'Myapp\'s <a href="{LINK}">deploy prod</a>' in message.html
    assert message.html.endswith(f'To see more details, please visit:<br><a href="{LINK}">{LINK}</a>')


def test_build_info_is_placed_as_echo_places_it() -> None:
    built = replace(PLAIN, build_number=42, build_url="https://ci.example.com/job/42")
    message = render("pipeline.failed", built)
    assert message.subject == "myapp's deploy prod pipeline build #42 has failed"
    assert (
        message.markdown == f"Myapp's <{LINK}|deploy prod> build <https://ci.example.com/job/42|42> pipeline has failed"
    )
    assert 'build #<a href="https://ci.example.com/job/42">42</a> pipeline has failed' in message.html


def test_custom_text_is_added_below_the_sentence() -> None:
    message = render("pipeline.failed", message={"pipeline.failed": {"text": "Paging <@U0ONCALL> :fire:"}})
    assert message.custom_text == "Paging <@U0ONCALL> :fire:"
    assert message.markdown == f"Myapp's <{LINK}|deploy prod> pipeline has failed\n\nPaging <@U0ONCALL> :fire:"
    assert message.text == (
        "myapp's deploy prod pipeline has failed\n\nPaging <@U0ONCALL> :fire:\n\n"
        f"To see more details, please visit:\n{LINK}"
    )
    # HTML escapes it (it is the author's text, not markup)
    assert "Paging &lt;@U0ONCALL&gt; :fire:" in message.html


def test_custom_text_of_another_event_is_not_used() -> None:
    assert render("pipeline.complete", message={"pipeline.failed": {"text": "boom"}}).custom_text is None


def test_custom_message_replaces_the_body() -> None:
    message = render("pipeline.complete", customMessage="Done: {{executionId}} <{{link}}|open>")
    assert message.markdown == message.text == f"Done: 01HEXEC <{LINK}|open>"
    assert message.subject == "myapp's deploy prod pipeline has completed successfully"


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ({"pipeline.failed": {"text": "  hi  "}}, "hi"),
        ({"pipeline.failed": "plain string"}, "plain string"),
        ({"pipeline.failed": {"text": "   "}}, None),
        ({"pipeline.failed": {}}, None),
        ("not a map", None),
        (None, None),
    ],
)
def test_custom_text_lookup(messages: Any, expected: str | None) -> None:
    assert custom_text({"message": messages}, "pipeline.failed") == expected


def test_names_are_escaped_for_slack_and_html() -> None:
    odd = replace(PLAIN, pipeline_name="a<b>&c", stage_name="x|y")
    message = render("stage.failed", odd)
    assert f"<{LINK}|a&lt;b&gt;&amp;c>" in message.markdown
    assert "a&lt;b&gt;&amp;c</a>" in message.html
    assert message.subject == "Stage x|y for myapp's a<b>&c pipeline has failed"


def test_missing_pipeline_name_falls_back_to_the_execution_id() -> None:
    assert (
        render("pipeline.failed", replace(PLAIN, pipeline_name=None)).subject == "myapp's 01HEXEC pipeline has failed"
    )


# ---- manual judgment texts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "subject", "slack_tail"),
    [
        ("manualJudgment", "is awaiting manual judgment", "is awaiting manual judgment."),
        ("manualJudgmentContinue", "was judged to continue by bob", "_was judged to *continue*_ by bob."),
        ("manualJudgmentStop", "was judged to stop by bob", "_was judged to *stop*_ by bob."),
    ],
)
def test_judgment_sentences(when: str, subject: str, slack_tail: str) -> None:
    message = render(when, JUDGMENT)
    assert message.subject == f"Stage Approve for myapp's deploy prod pipeline {subject}"
    assert message.title == message.subject
    assert message.color == "#CCCCCC"
    assert message.markdown.startswith(
        f"Stage <{JUDGE_LINK}|Approve> for *myapp*'s *deploy prod* pipeline {slack_tail}"
    )
    assert message.text.endswith(f"For more details, please visit:\n{JUDGE_LINK}")


def test_awaiting_judgment_shows_the_instructions_as_text() -> None:
    message = render("manualJudgment", JUDGMENT)
    assert message.notes == ("Instructions:\nCheck grafana",)
    assert message.text == (
        "Stage Approve for myapp's deploy prod pipeline is awaiting manual judgment.\n\n"
        f"Instructions:\nCheck grafana\n\nFor more details, please visit:\n{JUDGE_LINK}"
    )
    assert "*Instructions:*\nCheck grafana" in message.markdown
    assert "<b>Instructions:</b><br>Check grafana" in message.html


def test_continue_names_the_chosen_option() -> None:
    message = render("manualJudgmentContinue", JUDGMENT, message={"manualJudgmentContinue": {"text": "Deploying now"}})
    assert message.text == (
        "Stage Approve for myapp's deploy prod pipeline was judged to continue by bob.\n\n"
        "Deploying now\n\nJudgment 'ship it' was selected.\n\n"
        f"For more details, please visit:\n{JUDGE_LINK}"
    )
    assert "Judgment '*ship it*' was selected." in message.markdown


def test_judgment_without_pipeline_name_judge_or_instructions() -> None:
    bare = ExecutionSummary("myapp", "01HEXEC", stage_name="Approve", stage_ref_id="3")
    assert render("manualJudgment", bare).subject == "Stage Approve for myapp is awaiting manual judgment"
    assert render("manualJudgmentStop", bare).subject == "Stage Approve for myapp was judged to stop"
    assert render("manualJudgment", bare).notes == ()


def test_judgment_with_a_build() -> None:
    built = replace(JUDGMENT, build_number=7)
    message = render("manualJudgment", built)
    assert message.subject == "Stage Approve for myapp's deploy prod pipeline build 7 is awaiting manual judgment"
    assert "pipeline build #*7* is awaiting" in message.markdown


# ---- entries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("address", [None, "", "   ", 5])
def test_an_entry_needs_an_address(address: Any) -> None:
    with pytest.raises(InvalidNotificationError, match="has no address"):
        render_message({"type": "email", "address": address}, "pipeline.failed", PLAIN, BASE)


def test_entry_fields_are_normalized() -> None:
    message = render_message(
        {"type": " Slack ", "address": " #deploys ", "cc": "  "},
        "pipeline.failed",
        PLAIN,
        BASE,
        event_id="e1",
        created_ms=5,
    )
    assert (message.type, message.address, message.cc, message.event_id, message.created_ms) == (
        "slack",
        "#deploys",
        None,
        "e1",
        5,
    )


# ---- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain words", "plain words"),
        ("Check <b>grafana</b> &amp; logs", "Check grafana & logs"),
        ("<p>one</p><p>two</p>", "one\ntwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<ul><li>x</li><li>y</li></ul>", "* x\n* y"),
        ("<script>alert(1)</script>safe", "safe"),
        ("  plain\ntext keeps  its lines  ", "plain\ntext keeps  its lines"),
        ("<i>tags</i>   squeeze   spaces", "tags squeeze spaces"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(("text", "expected"), [("myapp", "Myapp"), ("my app", "My App"), ("", ""), ("ÄPP x", "ÄPP X")])
def test_capitalize_words(text: str, expected: str) -> None:
    assert capitalize_words(text) == expected


def test_summarize_reads_spinnaker_execution_json() -> None:
    execution = {
        "id": "01HEXEC",
        "application": "myapp",
        "name": "deploy prod",
        "status": "RUNNING",
        "trigger": {"user": "ann", "buildInfo": {"number": 12, "url": "https://ci/12"}},
    }
    stage = {
        "refId": "3",
        "name": "Approve",
        "context": {
            "instructions": "Look",
            "judgmentInput": "yes",
            "lastModifiedBy": "bob",
            "restrictExecutionDuringTimeWindow": True,
        },
    }
    assert summarize(execution, stage) == ExecutionSummary(
        application="myapp",
        execution_id="01HEXEC",
        pipeline_name="deploy prod",
        status="RUNNING",
        trigger_user="ann",
        stage_name="Approve",
        stage_ref_id="3",
        instructions="Look",
        judgment_input="yes",
        judged_by="bob",
        build_number=12,
        build_url="https://ci/12",
        restrict_execution_during_time_window=True,
    )
    assert summarize({"id": "x", "application": "a", "description": "adhoc"}) == ExecutionSummary(
        "a", "x", pipeline_name="adhoc"
    )
