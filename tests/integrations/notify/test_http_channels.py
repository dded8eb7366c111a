"""Webhook, Microsoft Teams and Google Chat channels against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from integrations.notify.base import Channel
from integrations.notify.googlechat import GoogleChatChannel
from integrations.notify.render import ExecutionSummary, Message, render_message
from integrations.notify.teams import TeamsChannel
from integrations.notify.webhook import WebhookChannel
from tests.stubs import Reply, Stub

from .conftest import LOOPBACK, free_port

LINK = "http://localhost:8084/#/applications/myapp/executions/details/01HEXEC"
TEAMS_PATH = "/webhookb2/abc-secret@tenant/IncomingWebhook/def/ghi"
CHAT_PATH = "/v1/spaces/AAAA/messages?key=secret-key&token=secret-token"


def message(kind: str, address: str, execution: ExecutionSummary, when: str = "pipeline.failed") -> Message:
    return render_message(
        {"type": kind, "address": address}, when, execution, "http://localhost:8084", event_id="evt-9", created_ms=42
    )


def channels(http: httpx.AsyncClient) -> dict[str, Channel]:
    return {
        "webhook": WebhookChannel(http, LOOPBACK),
        "microsoftteams": TeamsChannel(http, LOOPBACK),
        "googlechat": GoogleChatChannel(http, LOOPBACK),
    }


async def test_webhook_posts_the_event(stub: Stub, http: httpx.AsyncClient, execution: ExecutionSummary) -> None:
    stub.on("POST", "/hooks/deploys", Reply(204))
    result = await WebhookChannel(http, LOOPBACK).send(message("webhook", stub.url("/hooks/deploys"), execution))
    assert result.sent, result.error
    assert result.recipients == (f"{stub.base}/...",)
    [call] = stub.calls
    assert call.header("content-type") == ["application/json"]
    body = call.json()
    assert body["details"] == {
        "source": "orca",
        "type": "orca:pipeline:failed",
        "created": "42",
        "application": "myapp",
    }
    assert body["content"]["executionId"] == "01HEXEC"
    assert body["eventId"] == "evt-9"
    assert body["message"]["link"] == LINK


async def test_teams_posts_a_message_card(stub: Stub, http: httpx.AsyncClient, execution: ExecutionSummary) -> None:
    stub.on("POST", TEAMS_PATH, Reply(200, "1"))
    teams = TeamsChannel(http, LOOPBACK)
    result = await teams.send(message("microsoftteams", stub.url(TEAMS_PATH), execution, "stage.complete"))
    assert result.sent, result.error
    card = stub.calls[0].json()
    assert card["@type"] == "MessageCard"
    assert card["themeColor"] == "73DB69"
    assert card["sections"][0]["activityTitle"] == "Stage complete for MYAPP"
    assert card["sections"][0]["potentialAction"][0]["targets"] == [{"os": "default", "uri": LINK}]


async def test_teams_failure_inside_a_200(stub: Stub, http: httpx.AsyncClient, execution: ExecutionSummary) -> None:
    stub.on(
        "POST",
        TEAMS_PATH,
        Reply(200, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429"),
    )
    result = await TeamsChannel(http, LOOPBACK).send(message("microsoftteams", stub.url(TEAMS_PATH), execution))
    assert (result.sent, result.retryable, result.error_code) == (False, True, "delivery_failed")


async def test_google_chat_posts_a_card(stub: Stub, http: httpx.AsyncClient, execution: ExecutionSummary) -> None:
    stub.on("POST", CHAT_PATH, Reply(200, {"name": "spaces/AAAA/messages/1"}))
    result = await GoogleChatChannel(http, LOOPBACK).send(
        message("googlechat", stub.url(CHAT_PATH), execution, "manualJudgmentStop")
    )
    assert result.sent, result.error
    assert stub.calls[0].path == CHAT_PATH
    card = stub.calls[0].json()["cardsV2"][0]["card"]
    text = card["sections"][0]["widgets"][0]["textParagraph"]["text"]
    assert "<i>was judged to <b>stop</b></i> by bob@example.com." in text
    button = card["sections"][0]["widgets"][1]["buttonList"]["buttons"][0]
    assert button["onClick"]["openLink"]["url"] == f"{LINK}?refId=3"


@pytest.mark.parametrize("kind", ["webhook", "microsoftteams", "googlechat"])
@pytest.mark.parametrize(
    ("status", "retryable", "retry_after"),
    [
        (400, False, None),
        (403, False, None),
        (404, False, None),
        (429, True, 30.0),
        (500, True, None),
        (503, True, 30.0),
    ],
)
async def test_http_errors(
    stub: Stub,
    http: httpx.AsyncClient,
    execution: ExecutionSummary,
    kind: str,
    status: int,
    retryable: bool,
    retry_after: float | None,
) -> None:
    headers = {"Retry-After": "30"} if retry_after else {}
    stub.on("POST", "/hook?token=abc", Reply(status, {"error": "nope"}, headers))
    result = await channels(http)[kind].send(message(kind, stub.url("/hook?token=abc"), execution))
    assert (result.sent, result.retryable, result.error_code, result.retry_after_s) == (
        False,
        retryable,
        f"http_{status}",
        retry_after,
    )
    assert "token=abc" not in (result.error or "")
    assert result.error is not None and f"answered HTTP {status}" in result.error


@pytest.mark.parametrize("kind", ["webhook", "microsoftteams", "googlechat"])
async def test_unreachable_is_retryable(http: httpx.AsyncClient, execution: ExecutionSummary, kind: str) -> None:
    address = f"http://127.0.0.1:{free_port()}/hook"
    result = await channels(http)[kind].send(message(kind, address, execution))
    assert (result.sent, result.retryable, result.error_code) == (False, True, "unreachable")


@pytest.mark.parametrize("address", ["#not-a-url", "ftp://example.com/x", "http:///x"])
async def test_bad_addresses_are_permanent(http: httpx.AsyncClient, execution: ExecutionSummary, address: str) -> None:
    result = await WebhookChannel(http, LOOPBACK).send(message("webhook", address, execution))
    assert (result.sent, result.retryable, result.error_code) == (False, False, "invalid_address")
