"""The Slack channel, driven by the real slack-sdk against the Web API stand-in."""

from __future__ import annotations

import pytest

from core.settings.notify import SlackSettings
from integrations.notify.render import ExecutionSummary, Message, render_message
from integrations.notify.slack import SlackChannel

from .conftest import SLACK_TOKEN, free_port
from .slack_standin import SlackStandin


def slack_message(address: str, execution: ExecutionSummary, when: str = "pipeline.failed") -> Message:
    return render_message({"type": "slack", "address": address}, when, execution, "http://localhost:8084")


def channel(standin: SlackStandin, token: str | None = SLACK_TOKEN, **kw: object) -> SlackChannel:
    return SlackChannel(SlackSettings(bot_token=token, base_url=standin.base_url, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("address", ["#deploys", "deploys", "C0DEPLOYS", "U0ALICE"])
async def test_posts_to_a_channel_name_id_or_user(
    slack: SlackStandin, execution: ExecutionSummary, address: str
) -> None:
    result = await channel(slack).send(slack_message(address, execution))
    assert result.sent, result.error
    assert result.recipients == (address,)
    assert result.remote_id == "1700000000.000001"
    [posted] = slack.messages
    assert posted.channel == address
    assert posted.content_type.startswith("application/json")
    [attachment] = posted.attachments
    assert attachment["title"] == "Pipeline failed for MYAPP"
    assert attachment["color"] == "#B82525"
    assert attachment["text"].startswith(
        "Myapp's <http://localhost:8084/#/applications/myapp/executions/details/01HEXEC|"
    )
    assert attachment["fallback"].startswith("myapp's deploy prod pipeline has failed")


async def test_compact_messages(slack: SlackStandin, execution: ExecutionSummary) -> None:
    result = await channel(slack, send_compact_messages=True).send(slack_message("#general", execution))
    assert result.sent
    assert set(slack.messages[0].attachments[0]) == {"fallback", "text", "color", "mrkdwn_in"}


async def test_judgment_message(slack: SlackStandin, execution: ExecutionSummary) -> None:
    result = await channel(slack).send(slack_message("#deploys", execution, "manualJudgment"))
    assert result.sent
    attachment = slack.messages[0].attachments[0]
    assert attachment["title"] == "Stage Approve for myapp's deploy prod pipeline is awaiting manual judgment"
    assert "*Instructions:*\nCheck the dashboard first" in attachment["text"]
    assert "?refId=3|Approve>" in attachment["text"]


@pytest.mark.parametrize(
    ("token", "code"),
    [("xoxb-wrong", "invalid_auth")],
)
async def test_bad_token_is_permanent(slack: SlackStandin, execution: ExecutionSummary, token: str, code: str) -> None:
    result = await channel(slack, token=token).send(slack_message("#deploys", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, code)
    assert "check notifications.slack.bot_token" in (result.error or "")
    assert slack.messages == []


async def test_unknown_channel_is_permanent(slack: SlackStandin, execution: ExecutionSummary) -> None:
    result = await channel(slack).send(slack_message("#nowhere", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "channel_not_found")
    assert result.error == "Slack channel '#nowhere' was not found (channel_not_found)"


async def test_rate_limit_is_retryable_with_retry_after(slack: SlackStandin, execution: ExecutionSummary) -> None:
    slack.rate_limited_calls, slack.retry_after_s = 1, 12
    first = await channel(slack).send(slack_message("#deploys", execution))
    assert (first.sent, first.retryable, first.error_code, first.retry_after_s) == (False, True, "ratelimited", 12.0)
    second = await channel(slack).send(slack_message("#deploys", execution))
    assert second.sent
    assert slack.requests == 2  # slack-sdk's own retries are off: Temporal retries


async def test_server_errors_are_retryable(slack: SlackStandin, execution: ExecutionSummary) -> None:
    slack.failing_calls = 1
    result = await channel(slack).send(slack_message("#deploys", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, True, "internal_error")


async def test_unreachable_slack_is_retryable(execution: ExecutionSummary) -> None:
    settings = SlackSettings(bot_token=SLACK_TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/")  # type: ignore[arg-type]
    result = await SlackChannel(settings).send(slack_message("#deploys", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, True, "unreachable")
    assert result.error == "could not reach Slack's API: ConnectionRefusedError"


async def test_no_token_means_not_configured(slack: SlackStandin, execution: ExecutionSummary) -> None:
    result = await channel(slack, token=None).send(slack_message("#deploys", execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "not_configured")
    assert slack.requests == 0
