"""Notifications come from the engine's events (the outbox), sent by the deployment's reader workflow: a pipeline never
waits for a channel, a send that fails is recorded on the execution (and survives the engine's later writes), and a
worker restart loses no notification and sends none twice."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from activities.engine import MemoryConfigSource
from activities.notification_events import start_notifications
from core.messages.notifications import workflow_id
from core.store import Store
from tests.conftest import Engine, Settings, build_worker
from tests.engine.conftest import Hook

pytestmark = pytest.mark.temporal


async def eventually(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def posts(hook: Hook, path: str) -> list[dict[str, Any]]:
    return [json.loads(b) for (method, p), b in zip(hook.calls, hook.bodies, strict=True) if p == path]


async def test_the_end_is_stored_while_a_notification_is_still_being_sent(engine: Engine, hook: Hook) -> None:
    await engine.start_notifications()
    hook.holds["/n"] = threading.Event()
    config = {
        "application": "told",
        "name": "slow channel",
        "notifications": [{"type": "webhook", "address": f"{hook.base}/n", "when": ["pipeline.complete"]}],
        "stages": [{"refId": "1", "type": "wait", "name": "w", "waitTime": 0}],
    }
    try:
        execution = await engine.run(config)  # the workflow itself ends: nothing in it waits for the channel
        await eventually(lambda: ("POST", "/n") in hook.calls)  # the send is under way, held by the receiver
    finally:
        hook.holds["/n"].set()
    assert execution["status"] == "SUCCEEDED" and execution["endTime"]
    assert execution.get("systemNotifications", []) == []


async def test_a_send_that_fails_after_the_end_is_recorded_on_the_execution(engine: Engine, hook: Hook) -> None:
    await engine.start_notifications()
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


async def test_a_failure_recorded_while_the_pipeline_runs_survives_its_later_writes(engine: Engine, hook: Hook) -> None:
    await engine.start_notifications()
    hook.statuses["/gone"] = 404
    told = [{"type": "webhook", "address": f"{hook.base}/gone", "when": ["stage.starting"]}]
    config = {
        "application": "told",
        "name": "early failure",
        "stages": [
            {"refId": "1", "type": "wait", "name": "a", "waitTime": 0, "sendNotifications": True}
            | {"notifications": told},
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "b", "waitTime": 3},
        ],
    }
    execution_id = await engine.start(config)
    early = await engine.wait_until(
        execution_id, lambda e: any(n.get("group") == "notification" for n in e.get("systemNotifications") or [])
    )
    assert early["status"] == "RUNNING"  # recorded while the engine still writes the execution
    done = await engine.wait_until(execution_id, lambda e: e["status"] == "SUCCEEDED")
    [entry] = [n for n in done["systemNotifications"] if n.get("group") == "notification"]
    assert "webhook notification for stage.starting failed" in entry["message"]


async def test_stage_and_judgment_notifications_follow_the_stage_events(
    engine: Engine, client: Client, hook: Hook
) -> None:
    from workflows import operations

    await engine.start_notifications()
    judged = {
        "type": "webhook",
        "address": f"{hook.base}/judge",
        "when": ["manualJudgment", "manualJudgmentContinue", "manualJudgmentStop"],
    }
    quiet = {"type": "webhook", "address": f"{hook.base}/quiet", "when": ["stage.complete"]}  # no sendNotifications
    config = {
        "application": "told",
        "name": "judged",
        "stages": [
            {"refId": "1", "type": "manualJudgment", "name": "mj", "notifications": [judged]},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "wait",
                "name": "w",
                "waitTime": 0,
                "notifications": [quiet],
            },
        ],
    }
    execution_id = await engine.start(config)
    waiting = await engine.wait_until(execution_id, lambda e: bool(e["stages"][0].get("tasks")))
    await eventually(lambda: len(posts(hook, "/judge")) == 1)
    await operations.patch_stage(client, execution_id, waiting["stages"][0]["id"], {"judgmentStatus": "continue"})
    await engine.wait_until(execution_id, lambda e: e["status"] == "SUCCEEDED")
    await eventually(lambda: len(posts(hook, "/judge")) == 2)
    await asyncio.sleep(1)  # what else the reader would send has had its time
    sent = posts(hook, "/judge")
    assert [p["content"]["when"] for p in sent] == ["manualJudgment", "manualJudgmentContinue"]
    assert sent[0]["content"]["context"]["stageDetails"] == {"name": "mj", "refId": "1"}  # the stored stage's refId
    assert len({p["eventId"] for p in sent}) == 2
    assert posts(hook, "/quiet") == []  # a stage that does not ask (sendNotifications) tells nobody


async def test_a_worker_restart_loses_no_notification_and_sends_none_twice(
    client: Client, hook: Hook, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    queue, configs = f"test-{uuid.uuid4()}", MemoryConfigSource()
    told = [{"type": "webhook", "address": f"{hook.base}/n", "when": ["pipeline.starting", "pipeline.complete"]}]
    async with build_worker(client, queue, configs, store=store):
        assert await start_notifications(client, Settings(task_queue=queue), store) == workflow_id(queue)
        engine = Engine(client, queue, configs, store=store)
        first = await engine.run({"application": "told", "name": "before", "notifications": told, "stages": []})
        await eventually(lambda: len(posts(hook, "/n")) == 2)
    # no worker runs: an execution of this build records its start and its end meanwhile
    header = {"name": "meanwhile", "status": "RUNNING", "notifications": told, "startTime": 1}
    offline = {"id": f"offline-{uuid.uuid4()}", "application": "told", "stages": []}
    store.executions.apply_update({**offline, "version": 1, "execution": header, "engine": {"notify": "events"}})
    store.executions.apply_update({**offline, "version": 2, "execution": {"status": "SUCCEEDED", "endTime": 2}})
    async with build_worker(client, queue, configs, store=store):
        await start_notifications(client, Settings(task_queue=queue), store)  # finds the reader running
        await eventually(lambda: len(posts(hook, "/n")) == 4, timeout=60)
        await asyncio.sleep(1.5)  # a duplicate would have arrived by now
    sent = posts(hook, "/n")
    assert len(sent) == 4
    assert [json.dumps(b).count(first["id"]) > 0 for b in sent[:2]] == [True, True]
    assert all(offline["id"] in json.dumps(b) for b in sent[2:])
    store.close()
