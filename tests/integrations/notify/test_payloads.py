"""Each channel's payload is a pure function of the message: Slack attachments, the Teams
MessageCard, the Google Chat card, the webhook event and the email."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from integrations.notify.googlechat import build_payload
from integrations.notify.mail import build_email, split_addresses
from integrations.notify.render import ExecutionSummary, Message, render_message
from integrations.notify.slack import build_request
from integrations.notify.teams import build_card
from integrations.notify.webhook import build_event

BASE = "http://localhost:8084"
LINK = f"{BASE}/#/applications/myapp/executions/details/01HEXEC"
EX = ExecutionSummary(
    "myapp",
    "01HEXEC",
    "deploy prod",
    status="TERMINAL",
    trigger_user="ann",
    stage_name="Approve",
    stage_ref_id="3",
    judgment_input="ship it",
    judged_by="bob",
    instructions="Look first",
)


def message(when: str, kind: str = "slack", address: str = "#deploys", **entry: Any) -> Message:
    return render_message(
        {"type": kind, "address": address, **entry}, when, EX, BASE, event_id="evt-1", created_ms=1_700_000_000_000
    )


# ---- Slack -------------------------------------------------------------------------------------


def test_slack_request_is_echos_attachment() -> None:
    msg = message("pipeline.failed")
    assert build_request(msg, now_s=1_700_000_000) == {
        "channel": "#deploys",
        "attachments": [
            {
                "title": "Pipeline failed for MYAPP",
                "fallback": msg.text,
                "text": f"Myapp's <{LINK}|deploy prod> pipeline has failed",
                "color": "#B82525",
                "mrkdwn_in": ["text"],
                "footer": "Gennaker",
                "ts": 1_700_000_000,
            }
        ],
    }


def test_slack_compact_request_has_no_title_or_footer() -> None:
    msg = message("pipeline.complete")
    assert build_request(msg, compact=True) == {
        "channel": "#deploys",
        "attachments": [{"fallback": msg.text, "text": msg.markdown, "color": "#769D3E", "mrkdwn_in": ["text"]}],
    }


# ---- Microsoft Teams ---------------------------------------------------------------------------


def test_teams_card_for_a_stage_event() -> None:
    msg = message(
        "stage.failed",
        "microsoftteams",
        "https://x.webhook.office.com/hook",
        message={"stage.failed": {"text": "ouch"}},
    )
    assert build_card(msg) == {
        "@context": "http://schema.org/extensions",
        "@type": "MessageCard",
        "correlationId": "evt-1",
        "summary": "Stage Approve for myapp's deploy prod pipeline has failed",
        "themeColor": "EB1A1A",
        "title": "Gennaker Notification",
        "sections": [
            {
                "activityTitle": "Stage failed for MYAPP",
                "facts": [
                    {"name": "Application Name", "value": "myapp"},
                    {"name": "Execution Name", "value": "deploy prod"},
                    {"name": "Stage Name", "value": "Approve"},
                    {"name": "Message", "value": "ouch"},
                    {"name": "Status", "value": "Failed"},
                    {"name": "Summary", "value": "Stage Approve for myapp's deploy prod pipeline has failed"},
                ],
                "potentialAction": [
                    {"@type": "OpenUri", "name": "View Execution", "targets": [{"os": "default", "uri": LINK}]}
                ],
            }
        ],
    }


def test_teams_pipeline_card_colors_and_facts() -> None:
    complete = build_card(message("pipeline.complete", "microsoftteams", "https://x/h"))
    assert complete["themeColor"] == "73DB69"
    assert [f["name"] for f in complete["sections"][0]["facts"]] == [
        "Application Name",
        "Execution Name",
        "Status",
        "Summary",
    ]
    assert build_card(message("pipeline.starting", "microsoftteams", "https://x/h"))["themeColor"] == "0076D7"


def test_teams_card_for_judgments() -> None:
    awaiting = build_card(message("manualJudgment", "microsoftteams", "https://x/h"))
    section = awaiting["sections"][0]
    assert section["activityTitle"] == "Event Notification"
    assert awaiting["themeColor"] == "0076D7"
    assert section["facts"] == [
        {"name": "Message", "value": "Stage Approve for myapp's deploy prod pipeline is awaiting manual judgment"},
        {
            "name": "Summary",
            "value": "Instructions:\nLook first\n\nFor more details, please click the View Execution button below.",
        },
    ]
    assert section["potentialAction"][0]["targets"][0]["uri"] == f"{LINK}?refId=3"
    stopped = build_card(message("manualJudgmentContinue", "microsoftteams", "https://x/h"))
    assert stopped["summary"] == (
        "Stage Approve for myapp's deploy prod pipeline was judged to continue by bob.\n\n"
        "Judgment 'ship it' was selected.\n\n"
        "For more details, please click the View Execution button below."
    )


# ---- Google Chat -------------------------------------------------------------------------------


def test_google_chat_card() -> None:
    msg = message("pipeline.failed", "googlechat", "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t")
    assert build_payload(msg) == {
        "cardsV2": [
            {
                "cardId": "gennaker-notification",
                "card": {
                    "sections": [
                        {
                            "widgets": [
                                {"textParagraph": {"text": msg.html}},
                                {
                                    "buttonList": {
                                        "buttons": [{"text": "View execution", "onClick": {"openLink": {"url": LINK}}}]
                                    }
                                },
                            ]
                        }
                    ]
                },
            }
        ]
    }
    assert msg.html.startswith(f'Myapp\'s <a href="{LINK}">deploy prod</a> pipeline has failed')


# ---- webhook -----------------------------------------------------------------------------------


def test_webhook_event_for_a_pipeline() -> None:
    msg = message("pipeline.failed", "webhook", "https://hooks.example.com/in")
    assert build_event(msg) == {
        "details": {
            "source": "orca",
            "type": "orca:pipeline:failed",
            "created": "1700000000000",
            "application": "myapp",
        },
        "content": {
            "execution": {
                "id": "01HEXEC",
                "type": "PIPELINE",
                "application": "myapp",
                "name": "deploy prod",
                "status": "TERMINAL",
                "trigger": {"user": "ann"},
            },
            "executionId": "01HEXEC",
            "when": "pipeline.failed",
        },
        "message": {"subject": msg.subject, "text": msg.text, "link": LINK},
        "eventId": "evt-1",
    }


def test_webhook_event_for_a_judgment_is_a_stage_event() -> None:
    body = build_event(message("manualJudgmentStop", "webhook", "https://hooks.example.com/in"))
    assert body["details"]["type"] == "orca:stage:failed"
    assert body["content"]["when"] == "manualJudgmentStop"
    assert body["content"]["name"] == "Approve"
    assert body["content"]["context"] == {
        "stageDetails": {"name": "Approve", "refId": "3"},
        "instructions": "Look first",
        "judgmentInput": "ship it",
        "lastModifiedBy": "bob",
    }


def test_webhook_event_carries_the_build() -> None:
    msg = replace(
        message("pipeline.complete", "webhook", "https://h"), execution=replace(EX, build_number=3, build_url="u")
    )
    assert build_event(msg)["content"]["execution"]["trigger"] == {
        "user": "ann",
        "buildInfo": {"number": 3, "url": "u"},
    }


# ---- email -------------------------------------------------------------------------------------


def test_split_addresses_like_echo() -> None:
    assert split_addresses("a@x.io, b@x.io;c@x.io  d@x.io") == ["a@x.io", "b@x.io", "c@x.io", "d@x.io"]
    assert split_addresses("") == split_addresses(None) == []


def test_email_headers_and_parts() -> None:
    msg = message("pipeline.failed", "email", "a@x.io, b@x.io", cc="c@x.io;d@x.io")
    email = build_email(msg, "Gennaker <gennaker@example.com>", message_id="<id@example.com>")
    assert email["Subject"] == "myapp's deploy prod pipeline has failed"
    assert email["From"] == "Gennaker <gennaker@example.com>"
    assert email["To"] == "a@x.io, b@x.io"
    assert email["Cc"] == "c@x.io, d@x.io"
    assert email["Message-ID"] == "<id@example.com>"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == msg.text + "\n"
    assert f'<a href="{LINK}">{LINK}</a>' in html.get_content()


def test_email_subject_stays_on_one_line() -> None:
    msg = replace(message("pipeline.failed", "email", "a@x.io"), subject="two\nlines")
    email = build_email(msg, "g@example.com")
    assert email["Subject"] == "two lines"
    assert str(email["Message-ID"]).endswith("@example.com>")
