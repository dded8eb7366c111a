"""Trigger events go into the outbox with the start's claim: a webhook that starts a pipeline is recorded once,
a replayed delivery not again; the started execution's own events follow."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from integrations.triggers.launcher import trigger_event
from tests.api.conftest import serve_api

pytestmark = pytest.mark.temporal


def test_a_trigger_event_is_echo_s_json_without_the_payload() -> None:
    event = trigger_event(
        {"id": "p1", "name": "deploy", "application": "app"},
        {"type": "git", "source": "github", "payload": {"big": 1}, "hash": "abc"},
        "E1",
    )
    assert event["details"]["type"] == "git" and event["details"]["source"] == "github"
    assert event["details"]["application"] == "app"
    assert event["content"] == {
        "trigger": {"type": "git", "source": "github", "hash": "abc"},
        "pipelineConfigId": "p1",
        "pipelineName": "deploy",
        "executionId": "E1",
    }


async def test_a_webhook_start_is_recorded_once(client: Any, tmp_path: Path) -> None:
    async with serve_api(client, tmp_path) as api:
        trigger = {"type": "webhook", "enabled": True, "source": "ci"}
        pipeline = {"application": "hooked", "name": "on-hook", "triggers": [trigger],
                    "stages": [{"refId": "1", "type": "wait", "waitTime": 0}]}  # fmt: skip
        await api.http.post("/pipelines", json=pipeline)
        answer = (await api.http.post("/webhooks/webhook/ci", json={"branch": "main"})).json()
        [started] = answer["executions"]
        await api.finished(started["executionId"])
        await api.http.post("/webhooks/webhook/ci", json={"branch": "main"})  # replayed: starts nothing
        await asyncio.sleep(0.2)
        events = api.store.events.recent(applications=["hooked"], since=0)
    kinds = [e["details"]["type"] for e in events]
    assert kinds[0] == "webhook" and kinds.count("webhook") == 1
    assert events[0]["details"]["source"] == "ci"
    assert events[0]["content"]["executionId"] == started["executionId"]
    assert kinds[1:] == [
        "orca:pipeline:starting",
        "orca:stage:starting",
        "orca:task:starting",
        "orca:task:complete",
        "orca:stage:complete",
        "orca:pipeline:complete",
    ]
