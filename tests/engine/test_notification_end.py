"""A pipeline's end reaches the store without waiting for its notifications: a channel that is slow (or down and
retrying) delays nothing a reader sees; a send that fails is recorded on the execution afterwards."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.conftest import Engine
from tests.engine.conftest import Hook

pytestmark = pytest.mark.temporal


async def test_the_end_is_stored_while_a_notification_is_still_being_sent(
    engine: Engine, client: Client, hook: Hook
) -> None:
    hook.holds["/n"] = threading.Event()
    config = {
        "application": "told",
        "name": "slow channel",
        "notifications": [{"type": "webhook", "address": f"{hook.base}/n", "when": ["pipeline.complete"]}],
        "stages": [{"refId": "1", "type": "wait", "name": "w", "waitTime": 0}],
    }
    execution_id = await engine.start(config)
    shown: dict[str, object] = {}
    try:
        # the receiver does not answer until told: the store shows the end anyway
        shown = await engine.wait_until(execution_id, lambda e: e["status"] == "SUCCEEDED", timeout=15)
    except AssertionError:  # the engine before the change: RUNNING until the send ended
        pass
    finally:
        hook.holds["/n"].set()
    await client.get_workflow_handle(execution_id).result()  # the workflow itself ends once the send is done
    await _keep_history(client, execution_id)
    assert shown, "the end reached the store only after the notification"
    assert shown["endTime"] and shown.get("systemNotifications", []) == []
    assert ("POST", "/n") in hook.calls  # and the notification was sent


async def test_a_send_that_fails_after_the_end_is_recorded_on_the_execution(engine: Engine, hook: Hook) -> None:
    config = {
        "application": "told",
        "name": "no such channel",
        "notifications": [{"type": "webhook", "address": f"{hook.base}/gone", "when": ["pipeline.complete"]}],
        "stages": [{"refId": "1", "type": "wait", "name": "w", "waitTime": 0}],
    }
    hook.statuses["/gone"] = 404  # a 4xx is not retried: the send fails at once
    execution_id = await engine.start(config)
    recorded = await engine.wait_until(
        execution_id, lambda e: any(n.get("group") == "notification" for n in e.get("systemNotifications") or [])
    )
    assert recorded["status"] == "SUCCEEDED"
    [entry] = [n for n in recorded["systemNotifications"] if n.get("group") == "notification"]
    assert "webhook notification for pipeline.complete failed" in entry["message"]


async def _keep_history(client: Client, execution_id: str) -> None:
    """With GENNAKER_KEEP_HISTORY set to a path, store the pipeline's history there (how
    tests/workflows/histories/pipeline-end-notification.json was recorded, on the engine before the change)."""
    target = os.environ.get("GENNAKER_KEEP_HISTORY")
    if target:
        Path(target).write_text((await client.get_workflow_handle(execution_id).fetch_history()).to_json())
