"""Notification text with expressions is evaluated against the store's execution, in the send activity (the reader
workflow's history holds the unevaluated text only)."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.conftest import Engine
from tests.engine.conftest import Hook

pytestmark = pytest.mark.temporal


async def test_message_text_reads_stage_outputs_from_the_store(engine: Engine, client: Client, hook: Hook) -> None:
    text = "color ${#stage('vars')['outputs']['color']} of ${execution.name}"
    config = {
        "application": "told",
        "name": "colors",
        "notifications": [
            {
                "type": "webhook",
                "address": f"{hook.base}/n",
                "when": ["pipeline.complete"],
                "message": {"pipeline.complete": {"text": text}},
            }
        ],
        "stages": [
            {
                "refId": "1",
                "type": "evaluateVariables",
                "name": "vars",
                "variables": [{"key": "color", "value": "ochre"}],
            }
        ],
    }
    reader = await engine.start_notifications()
    execution = await engine.run(config)
    assert execution["status"] == "SUCCEEDED"
    for _ in range(300):
        if ("POST", "/n") in hook.calls:
            break
        await asyncio.sleep(0.05)
    [body] = [json.loads(b) for (method, path), b in zip(hook.calls, hook.bodies, strict=True) if path == "/n"]
    assert "color ochre of colors" in json.dumps(body)
    history = await client.get_workflow_handle(reader).fetch_history()
    sent = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "send_notification"
    ]
    assert len(sent) == 1 and b"ochre" not in sent[0].input.SerializeToString()  # evaluated in the activity
