"""The ``send_notification`` activity, run with Temporal's ActivityEnvironment against real servers:
results, retryable vs non-retryable errors, unsupported and disabled types, and no leaked secrets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import (
    INVALID_ERROR,
    NOT_CONFIGURED_ERROR,
    REJECTED_ERROR,
    RETRYABLE_ERROR,
    SEND_NOTIFICATION,
    UNSUPPORTED_ERROR,
    NotifyActivities,
    SendNotificationInput,
    SendNotificationResult,
    build,
)
from core.settings.notify import ChannelToggle, EmailSettings, SlackSettings
from integrations.notify import CHANNEL_TYPES, NotificationSettings
from integrations.notify.render import ExecutionSummary
from tests.stubs import Reply, Stub

from .conftest import LOOPBACK, SLACK_TOKEN, SMTP_PASSWORD, SMTP_USER, Mailbox
from .slack_standin import SlackStandin

BASE = "http://gennaker.example.com:8084"


def notify_settings(slack: SlackStandin | None = None, box: Mailbox | None = None, **kw: Any) -> NotificationSettings:
    return NotificationSettings(
        base_url=BASE,
        slack=SlackSettings(bot_token=SLACK_TOKEN, base_url=slack.base_url if slack else "http://127.0.0.1:9/api/"),  # type: ignore[arg-type]
        email=EmailSettings(
            host=box.host if box else None,
            port=box.port if box else 25,
            username=SMTP_USER,
            password=SMTP_PASSWORD,  # type: ignore[arg-type]
            from_address="gennaker@example.com",
            timeout_s=5,
        ),
        **kw,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def acts(slack: SlackStandin, smtp_auth: Mailbox) -> AsyncIterator[NotifyActivities]:
    activities = NotifyActivities(
        notify_settings(slack, smtp_auth), policy=LOOPBACK, clock_ms=lambda: 1_700_000_000_000
    )
    try:
        yield activities
    finally:
        await activities.aclose()


async def send(acts: NotifyActivities, entry: dict[str, Any], when: str, execution: ExecutionSummary, **kw: Any) -> Any:
    return await ActivityEnvironment().run(acts.send_notification, SendNotificationInput(entry, when, execution, **kw))


async def failure(
    acts: NotifyActivities, entry: dict[str, Any], when: str, execution: ExecutionSummary
) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        await send(acts, entry, when, execution)
    return raised.value


def test_the_activity_name_and_registry() -> None:
    assert SEND_NOTIFICATION == "send_notification"
    assert CHANNEL_TYPES == ("email", "googlechat", "microsoftteams", "slack", "sms", "webhook")
    [fn] = build(object())
    assert getattr(fn, "__temporal_activity_definition").name == "send_notification"


# ---- success -----------------------------------------------------------------------------------


async def test_slack(acts: NotifyActivities, slack: SlackStandin, execution: ExecutionSummary) -> None:
    entry = {"type": "slack", "address": "#deploys", "when": ["pipeline.failed"]}
    result = await send(acts, entry, "pipeline.failed", execution)
    assert result == SendNotificationResult(
        type="slack",
        when="pipeline.failed",
        sent=True,
        subject="myapp's deploy prod pipeline has failed",
        recipients=["#deploys"],
        remote_id="1700000000.000001",
        detail="posted to C0DEPLOYS",
    )
    assert (
        f"<{BASE}/#/applications/myapp/executions/details/01HEXEC|deploy prod>"
        in (slack.messages[0].attachments[0]["text"])
    )


async def test_email(acts: NotifyActivities, smtp_auth: Mailbox, execution: ExecutionSummary) -> None:
    entry = {"type": "email", "address": "ann@example.com", "cc": "ops@example.com"}
    result = await send(acts, entry, "manualJudgment", execution)
    assert result.sent
    assert result.recipients == ["ann@example.com", "ops@example.com"]
    assert result.subject == "Stage Approve for myapp's deploy prod pipeline is awaiting manual judgment"
    assert smtp_auth.logins == [SMTP_USER]


async def test_webhook_event_id_is_stable_across_retries(
    acts: NotifyActivities, stub: Stub, execution: ExecutionSummary
) -> None:
    stub.on("POST", "/in", Reply(200))
    entry = {"type": "webhook", "address": stub.url("/in")}
    await send(acts, entry, "stage.complete", execution)
    await send(acts, entry, "stage.complete", execution)
    await send(acts, entry, "stage.complete", execution, event_id="given-id")
    ids = [call.json()["eventId"] for call in stub.calls]
    assert ids[0] == ids[1] != "given-id" == ids[2]
    assert stub.calls[0].json()["details"]["created"] == "1700000000000"


@pytest.mark.parametrize(("kind", "path"), [("microsoftteams", "/teams"), ("googlechat", "/chat")])
async def test_chat_webhooks(
    acts: NotifyActivities, stub: Stub, execution: ExecutionSummary, kind: str, path: str
) -> None:
    stub.on("POST", path, Reply(200, "1"))
    result = await send(acts, {"type": kind, "address": stub.url(path)}, "pipeline.complete", execution)
    assert (result.sent, result.recipients) == (True, [f"{stub.base}/..."])


async def test_type_is_case_insensitive(
    acts: NotifyActivities, slack: SlackStandin, execution: ExecutionSummary
) -> None:
    assert (await send(acts, {"type": "SLACK", "address": "general"}, "pipeline.starting", execution)).sent


async def test_disabled_type_sends_nothing(slack: SlackStandin, execution: ExecutionSummary) -> None:
    off = notify_settings(slack).model_copy(update={"slack": SlackSettings(enabled=False)})
    acts = NotifyActivities(off)
    try:
        result = await send(acts, {"type": "slack", "address": "#deploys"}, "pipeline.failed", execution)
    finally:
        await acts.aclose()
    assert (result.sent, result.detail) == (False, "slack notifications are disabled in the settings")
    assert slack.requests == 0


# ---- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pagerduty", "bearychat", ""])
async def test_unsupported_types_are_non_retryable(
    acts: NotifyActivities, execution: ExecutionSummary, kind: str
) -> None:
    error = await failure(acts, {"type": kind, "address": "+15550100"}, "pipeline.failed", execution)
    assert (error.type, error.non_retryable) == (UNSUPPORTED_ERROR, True)
    assert f"notification type '{kind}' is not supported" in error.message
    assert "email, googlechat, microsoftteams, slack, sms, webhook" in error.message


async def test_unknown_event_is_non_retryable(acts: NotifyActivities, execution: ExecutionSummary) -> None:
    error = await failure(acts, {"type": "slack", "address": "#deploys"}, "pipeline.paused", execution)
    assert (error.type, error.non_retryable) == (INVALID_ERROR, True)


async def test_missing_address_is_non_retryable(acts: NotifyActivities, execution: ExecutionSummary) -> None:
    error = await failure(acts, {"type": "email"}, "pipeline.failed", execution)
    assert (error.type, error.non_retryable, error.message) == (INVALID_ERROR, True, "the email entry has no address")


async def test_rate_limited_slack_is_retried_after_its_delay(
    acts: NotifyActivities, slack: SlackStandin, execution: ExecutionSummary
) -> None:
    slack.rate_limited_calls, slack.retry_after_s = 1, 9
    error = await failure(acts, {"type": "slack", "address": "#deploys"}, "pipeline.failed", execution)
    assert (error.type, error.non_retryable, error.next_retry_delay) == (RETRYABLE_ERROR, False, timedelta(seconds=9))
    assert (
        error.message == "slack notification for pipeline.failed failed: Slack is rate limiting this bot (ratelimited)"
    )


async def test_unknown_slack_channel_is_not_retried(
    acts: NotifyActivities, slack: SlackStandin, execution: ExecutionSummary
) -> None:
    error = await failure(acts, {"type": "slack", "address": "#gone"}, "pipeline.failed", execution)
    assert (error.type, error.non_retryable) == (REJECTED_ERROR, True)
    assert error.details[0] == {"type": "slack", "code": "channel_not_found", "recipients": ["#gone"]}


async def test_missing_slack_token_is_not_configured(execution: ExecutionSummary) -> None:
    acts = NotifyActivities(NotificationSettings())
    try:
        error = await failure(acts, {"type": "slack", "address": "#deploys"}, "pipeline.failed", execution)
    finally:
        await acts.aclose()
    assert (error.type, error.non_retryable) == (NOT_CONFIGURED_ERROR, True)
    assert "set notifications.slack.bot_token" in error.message


async def test_webhook_5xx_is_retried_and_4xx_is_not(
    acts: NotifyActivities, stub: Stub, execution: ExecutionSummary
) -> None:
    stub.on("POST", "/hook", Reply(502), Reply(410))
    entry = {"type": "webhook", "address": stub.url("/hook")}
    retried = await failure(acts, entry, "pipeline.failed", execution)
    assert (retried.type, retried.non_retryable) == (RETRYABLE_ERROR, False)
    final = await failure(acts, entry, "pipeline.failed", execution)
    assert (final.type, final.non_retryable) == (REJECTED_ERROR, True)


async def test_temporary_smtp_failure_is_retryable(
    acts: NotifyActivities, smtp_auth: Mailbox, execution: ExecutionSummary
) -> None:
    smtp_auth.rcpt_replies["ann@example.com"] = "421 4.7.0 try again later"
    error = await failure(acts, {"type": "email", "address": "ann@example.com"}, "pipeline.failed", execution)
    assert (error.type, error.non_retryable) == (RETRYABLE_ERROR, False)


# ---- secrets -----------------------------------------------------------------------------------


async def test_secrets_never_reach_errors_results_or_logs(
    slack: SlackStandin, smtp_auth: Mailbox, stub: Stub, execution: ExecutionSummary, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_token, wrong_password = "xoxb-wrong-token-9876543210", "wrong-smtp-Pa55word"
    settings = NotificationSettings(
        base_url=BASE,
        slack=SlackSettings(bot_token=wrong_token, base_url=slack.base_url),  # type: ignore[arg-type]
        email=EmailSettings(
            host=smtp_auth.host,
            port=smtp_auth.port,
            username=SMTP_USER,
            password=wrong_password,  # type: ignore[arg-type]
            from_address="gennaker@example.com",
        ),
    )
    stub.on("POST", "/hook?token=webhook-secret", Reply(403))
    acts = NotifyActivities(settings, policy=LOOPBACK)
    seen: list[str] = [repr(settings)]
    try:
        for entry in (
            {"type": "slack", "address": "#deploys"},
            {"type": "email", "address": "ann@example.com"},
            {"type": "webhook", "address": stub.url("/hook?token=webhook-secret")},
            {"type": "microsoftteams", "address": stub.url("/hook?token=webhook-secret")},
        ):
            error = await failure(acts, entry, "pipeline.failed", execution)
            assert error.non_retryable
            seen += [str(error), error.message, repr(error.details)]
        slack.rate_limited_calls = 1
        ok_settings = notify_settings(slack, smtp_auth)
        ok = NotifyActivities(ok_settings)
        try:
            with pytest.raises(ApplicationError) as raised:
                await send(ok, {"type": "slack", "address": "#deploys"}, "pipeline.failed", execution)
            seen.append(str(raised.value))
            result = await send(ok, {"type": "email", "address": "ann@example.com"}, "pipeline.failed", execution)
            seen.append(repr(result))
            seen.append(repr(ok_settings))
        finally:
            await ok.aclose()
    finally:
        await acts.aclose()
    seen.append(caplog.text)
    everything = "\n".join(seen)
    assert "rejected the bot token" in everything and "rejected the login" in everything
    # the loggers really were listening: httpx's request line is there, with the URL cut to its host
    assert f'HTTP Request: POST {stub.base}/... "HTTP/1.1 403 Forbidden"' in caplog.text
    assert "Authorization: (redacted)" in caplog.text or "'authorization': '(redacted)'" in caplog.text.lower()
    for secret in (wrong_token, wrong_password, SLACK_TOKEN, SMTP_PASSWORD, "webhook-secret"):
        assert secret not in everything, secret


async def test_scrubbing_masks_a_secret_echoed_by_a_server(execution: ExecutionSummary) -> None:
    acts = NotifyActivities(notify_settings())
    try:
        assert acts._scrub(f"server said {SLACK_TOKEN} and {SMTP_PASSWORD}") == "server said ********** and **********"
    finally:
        await acts.aclose()


async def test_a_shared_http_client_is_left_open(execution: ExecutionSummary) -> None:
    async with httpx.AsyncClient() as http:
        acts = NotifyActivities(NotificationSettings(), http)
        await acts.aclose()
        assert not http.is_closed


def test_settings_reject_two_tls_modes() -> None:
    with pytest.raises(ValueError, match="choose one of ssl"):
        EmailSettings(ssl=True, starttls=True)
    assert NotificationSettings().webhook == ChannelToggle(enabled=True)
    assert "xoxb" not in repr(SlackSettings(bot_token="xoxb-1"))  # type: ignore[arg-type]


async def test_input_and_result_cross_temporals_data_converter(execution: ExecutionSummary) -> None:
    from temporalio.converter import DataConverter

    converter = DataConverter.default
    inp = SendNotificationInput(
        {"type": "slack", "address": "#deploys", "message": {"pipeline.failed": {"text": "hi"}}},
        "pipeline.failed",
        execution,
    )
    result = SendNotificationResult("slack", "pipeline.failed", True, "subject", ["#deploys"], "1.2", "posted")
    payloads = await converter.encode([inp, result])
    assert await converter.decode(payloads, [SendNotificationInput, SendNotificationResult]) == [inp, result]
