"""SMS through Twilio: the ``send_notification`` activity with the real ``twilio`` client against the
Messages API stand-in (form fields, basic auth, each number its message, Twilio's errors classified, no
token in errors or logs), the body's pure rules, and the pipeline path end to end: pipeline, stage and
judgment events reach the stand-in, and a failing entry lands in ``systemNotifications`` without
changing the run."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import (
    NOT_CONFIGURED_ERROR,
    REJECTED_ERROR,
    RETRYABLE_ERROR,
    NotifyActivities,
    SendNotificationInput,
)
from core.settings.notify import NotificationSettings, SmsSettings
from integrations.notify.render import ExecutionSummary, render_message
from integrations.notify.sms import MAX_BODY, build_body, parse_numbers
from tests.integrations.notify.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, TwilioStandIn

BASE = "https://spin.example"
FROM = "+15550001111"


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as served:
        assert isinstance(served, TwilioStandIn)
        yield served


def sms_settings(twilio: TwilioStandIn, **kw: Any) -> NotificationSettings:
    sms = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM, "base_url": twilio.url}
    return NotificationSettings.model_validate({"base_url": BASE, "sms": {**sms, "timeout_s": 2, **kw}})


@pytest_asyncio.fixture(loop_scope="session")
async def acts(twilio: TwilioStandIn) -> AsyncIterator[NotifyActivities]:
    activities = NotifyActivities(sms_settings(twilio))
    try:
        yield activities
    finally:
        await activities.aclose()


async def send(acts: NotifyActivities, entry: dict[str, Any], when: str, execution: ExecutionSummary) -> Any:
    return await ActivityEnvironment().run(acts.send_notification, SendNotificationInput(entry, when, execution))


async def failure(acts: NotifyActivities, entry: dict[str, Any], execution: ExecutionSummary) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        await send(acts, entry, "pipeline.failed", execution)
    return raised.value


# ---- pure rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "numbers"),
    [
        ("+15550100200", ["+15550100200"]),
        ("+1 (555) 010-0200", ["+15550100200"]),
        ("+44.20.7946.0000, +15550100200;", ["+442079460000", "+15550100200"]),
    ],
)
def test_numbers_are_read_in_e164(address: str, numbers: list[str]) -> None:
    assert parse_numbers(address) == numbers


@pytest.mark.parametrize("address", ["5550100", "+0123456789", "call me", " , "])
def test_other_numbers_are_refused_naming_them(address: str) -> None:
    with pytest.raises(ValueError, match="E.164|no phone number"):
        parse_numbers(address)


def test_the_body_is_the_sentence_the_custom_text_and_the_link(execution: ExecutionSummary) -> None:
    entry = {"type": "sms", "address": "+15550100200", "message": {"pipeline.failed": {"text": "call ops"}}}
    message = render_message(entry, "pipeline.failed", execution, BASE)
    link = f"{BASE}/#/applications/myapp/executions/details/01HEXEC"
    assert build_body(message) == f"myapp's deploy prod pipeline has failed\ncall ops\n{link}"
    custom = render_message({**entry, "customMessage": "see {{link}}"}, "pipeline.failed", execution, BASE)
    assert build_body(custom) == f"see {link}"
    long = render_message(
        {**entry, "message": {"pipeline.failed": {"text": "x" * 3000}}}, "pipeline.failed", execution, BASE
    )
    body = build_body(long)
    assert len(body) == MAX_BODY and body.endswith(f"… {link}")


# ---- the activity against the stand-in ---------------------------------------------------------


async def test_sends_each_number_a_message_with_basic_auth(
    acts: NotifyActivities, twilio: TwilioStandIn, execution: ExecutionSummary
) -> None:
    entry = {"type": "sms", "address": "+1 555 010 0200, +15550100300", "when": ["stage.complete"]}
    result = await send(acts, entry, "stage.complete", execution)
    assert (result.type, result.sent, result.recipients) == ("sms", True, ["+15550100200", "+15550100300"])
    assert [m.to for m in twilio.messages] == ["+15550100200", "+15550100300"]
    sms = twilio.messages[0]
    assert (sms.account, sms.from_, sms.user) == (ACCOUNT_SID, FROM, ACCOUNT_SID)
    assert sms.body.startswith("Stage Approve for myapp's deploy prod pipeline has completed successfully")
    assert result.remote_id.startswith("SM") and "," in result.remote_id
    call = twilio.calls_to("POST", "/Messages.json$")[0]
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")


async def test_an_api_key_authenticates_in_place_of_the_account(
    twilio: TwilioStandIn, execution: ExecutionSummary
) -> None:
    twilio.api_keys.add("SK" + "1" * 32)
    acts = NotifyActivities(sms_settings(twilio, api_key_sid="SK" + "1" * 32))
    try:
        await send(acts, {"type": "sms", "address": "+15550100200"}, "manualJudgment", execution)
    finally:
        await acts.aclose()
    assert twilio.messages[0].user == "SK" + "1" * 32
    assert "awaiting manual judgment" in twilio.messages[0].body


async def test_not_configured_names_the_missing_settings(execution: ExecutionSummary) -> None:
    acts = NotifyActivities(NotificationSettings(sms=SmsSettings(account_sid=ACCOUNT_SID)))
    try:
        error = await failure(acts, {"type": "sms", "address": "+15550100200"}, execution)
    finally:
        await acts.aclose()
    assert (error.type, error.non_retryable) == (NOT_CONFIGURED_ERROR, True)
    assert "notifications.sms.auth_token, notifications.sms.from_number" in error.message


async def test_a_bad_address_is_not_sent_or_retried(
    acts: NotifyActivities, twilio: TwilioStandIn, execution: ExecutionSummary
) -> None:
    error = await failure(acts, {"type": "sms", "address": "ops-pager"}, execution)
    assert (error.type, error.non_retryable) == (REJECTED_ERROR, True)
    assert "'ops-pager' is not a phone number" in error.message and twilio.calls == []


async def test_twilio_refusals_are_not_retried_and_never_show_the_token(
    twilio: TwilioStandIn, execution: ExecutionSummary, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = NotifyActivities(sms_settings(twilio, from_number="+15559999999"))
    try:
        error = await failure(wrong, {"type": "sms", "address": "+15550100200"}, execution)
    finally:
        await wrong.aclose()
    assert (error.type, error.non_retryable, error.details[0]["code"]) == (REJECTED_ERROR, True, "twilio_21606")
    assert "notifications.sms.from_number" in error.message
    refused = NotifyActivities(sms_settings(twilio, account_sid="AC" + "9" * 32))  # an account it does not know
    try:
        error = await failure(refused, {"type": "sms", "address": "+15550100200"}, execution)
    finally:
        await refused.aclose()
    assert error.details[0]["code"] == "twilio_20003" and "check notifications.sms.account_sid" in error.message
    assert AUTH_TOKEN not in error.message + json.dumps(error.details) + caplog.text


@pytest.mark.parametrize(("status", "code"), [(503, "http_503"), (429, "http_429")])
async def test_busy_or_down_twilio_is_retried(
    acts: NotifyActivities, twilio: TwilioStandIn, execution: ExecutionSummary, status: int, code: str
) -> None:
    twilio.fail_next("POST", "/Messages.json$", status)
    error = await failure(acts, {"type": "sms", "address": "+15550100200"}, execution)
    assert (error.type, error.non_retryable, error.details[0]["code"]) == (RETRYABLE_ERROR, False, code)
    assert len(twilio.calls) == 1  # the client's own retries are off: Temporal retries
    result = await send(acts, {"type": "sms", "address": "+15550100200"}, "pipeline.failed", execution)
    assert result.sent and len(twilio.messages) == 1


async def test_an_unreachable_twilio_is_retried(execution: ExecutionSummary) -> None:
    settings = NotificationSettings(
        sms=SmsSettings(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,  # type: ignore[arg-type]
            from_number=FROM,
            base_url="http://127.0.0.1:9",
            timeout_s=1,
        )
    )
    acts = NotifyActivities(settings)
    try:
        error = await failure(acts, {"type": "sms", "address": "+15550100200"}, execution)
    finally:
        await acts.aclose()
    assert (error.type, error.details[0]["code"]) == (RETRYABLE_ERROR, "unreachable")


async def test_disabled_sms_sends_nothing(twilio: TwilioStandIn, execution: ExecutionSummary) -> None:
    acts = NotifyActivities(sms_settings(twilio, enabled=False))
    try:
        result = await send(acts, {"type": "sms", "address": "+15550100200"}, "pipeline.failed", execution)
    finally:
        await acts.aclose()
    assert (result.sent, result.detail) == (False, "sms notifications are disabled in the settings")
    assert twilio.calls == []


# ---- the pipeline path -------------------------------------------------------------------------


@pytest.mark.temporal
async def test_pipeline_stage_and_judgment_events_reach_twilio(
    client: Client, twilio: TwilioStandIn, tmp_path: Any
) -> None:
    from tests.api.conftest import serve_api

    sms = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM, "base_url": twilio.url}
    async with serve_api(client, tmp_path, notifications={"base_url": BASE, "sms": sms}) as api:
        judged = {"type": "sms", "address": "+15550100400", "when": ["manualJudgment", "manualJudgmentContinue"]}
        pipeline = {
            "application": "texted",
            "name": "ship",
            "notifications": [
                {"type": "sms", "address": "+15550100200", "when": ["pipeline.starting", "pipeline.complete"]},
                {"type": "sms", "address": "not-a-number", "when": ["pipeline.complete"]},
            ],
            "stages": [
                {
                    "refId": "w",
                    "type": "wait",
                    "name": "Soak",
                    "waitTime": 0,
                    "sendNotifications": True,
                    "notifications": [{"type": "sms", "address": "+15550100300", "when": ["stage.complete"]}],
                },
                {
                    "refId": "j",
                    "type": "manualJudgment",
                    "name": "Approve",
                    "requisiteStageRefIds": ["w"],
                    "notifications": [judged],
                },
            ],
        }
        await api.http.post("/pipelines", json=pipeline)
        execution_id = (await api.http.post("/pipelines/texted/ship", json={})).json()["ref"].split("/")[-1]
        running = await api.wait_for(execution_id, lambda e: e["stages"][-1].get("tasks"))
        stage_id = running["stages"][-1]["id"]
        assert (await _eventually(lambda: _bodies(twilio, "+15550100400"))) != []
        await api.http.patch(f"/pipelines/{execution_id}/stages/{stage_id}", json={"judgmentStatus": "continue"})
        done = await api.finished(execution_id)
        assert done["status"] == "SUCCEEDED"  # a failing entry changes nothing

        async def stored_failure() -> Any:
            execution = (await api.http.get(f"/pipelines/{execution_id}")).json()
            found = [n for n in execution.get("systemNotifications", []) if n.get("group") == "notification"]
            return found[0] if found else None

        stored = await _eventually(stored_failure)
        assert stored is not None and "'not-a-number' is not a phone number" in stored["message"]
        assert AUTH_TOKEN not in json.dumps(done) + json.dumps(stored)
        await _eventually(lambda: len(_bodies(twilio, "+15550100200")) == 2)
    link = f"{BASE}/#/applications/texted/executions/details/{execution_id}"
    pipeline_texts = _bodies(twilio, "+15550100200")
    assert pipeline_texts == [
        f"texted's ship pipeline is starting\n{link}",
        f"texted's ship pipeline has completed successfully\n{link}",
    ]
    assert _bodies(twilio, "+15550100300") == [
        f"Stage Soak for texted's ship pipeline has completed successfully\n{link}"
    ]
    judgment = _bodies(twilio, "+15550100400")
    assert "awaiting manual judgment" in judgment[0] and f"{link}?refId=j" in judgment[0]
    assert "judged to continue" in judgment[1]


def _bodies(twilio: TwilioStandIn, to: str) -> list[str]:
    return [m.body for m in twilio.messages if m.to == to]


async def _eventually(check: Any, timeout: float = 20) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)
