"""A pipeline's events reach a real HTTP endpoint through the delivery workflow, in order, in Echo's shapes, and
all of them after the endpoint was down for a while."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from activities.events import EventActivities
from core.messages.events import WORKFLOW_TYPE, DeliverEventsInput
from core.settings.events import EventSettings
from integrations.outbound import OutboundPolicy, OutboundSettings
from tests.conftest import Engine
from workflows.all import workflow_runner
from workflows.events import DeliverEchoEventsWorkflow

from .endpoint import Listener

pytestmark = pytest.mark.temporal


def pipeline(application: str) -> dict[str, Any]:
    stages = [
        {"refId": "1", "type": "wait", "name": "first", "waitTime": 0},
        {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "second", "waitTime": 0},
    ]
    return {"application": application, "name": "events", "stages": stages}


async def deliver(
    client: Client, store: Any, endpoint: dict[str, Any], cursor: int
) -> tuple[Worker, str, EventActivities]:
    queue = f"events-{uuid.uuid4()}"
    settings = EventSettings.model_validate({"endpoints": [endpoint], "poll_interval_s": 0.05, "poll_window_s": 2})
    policy = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.0/8"]))
    acts = EventActivities(store, settings, policy)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[DeliverEchoEventsWorkflow],
        activities=[acts.deliver_events],
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=workflow_runner(),
    )
    wid = f"events-delivery:{uuid.uuid4()}"
    name = settings.endpoints[0].name
    await client.start_workflow(
        WORKFLOW_TYPE, DeliverEventsInput(endpoint=str(name), cursor=cursor), id=wid, task_queue=queue
    )
    return worker, wid, acts


async def wait_for(check: Any, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached")
        await asyncio.sleep(0.1)


EXPECTED = [
    "orca:pipeline:starting",
    *["orca:stage:starting", "orca:task:starting", "orca:task:complete", "orca:stage:complete"] * 2,
    "orca:pipeline:complete",
]


def types_of(received: list[dict[str, Any]]) -> list[str]:
    return [e["details"]["type"] for e in received]


async def test_a_pipeline_s_events_reach_the_endpoint_in_order_after_it_was_down(
    engine: Engine, client: Client
) -> None:
    app = f"ev{uuid.uuid4().hex[:8]}"
    listener = await Listener().start()
    listener.down = True
    store = engine.projection()
    cursor = store.events.head()
    endpoint = {
        "name": "splunk",
        "url": listener.url,
        "applications": [app],
        "headers": {"Authorization": "Splunk t0k"},
    }
    worker, wid, acts = await deliver(client, store, endpoint, cursor)
    try:
        async with worker:
            execution = await engine.run(pipeline(app))
            assert execution["status"] == "SUCCEEDED"
            await wait_for(lambda: listener.refused >= 2)  # down: refused, retried with backoff
            listener.down = False
            await wait_for(lambda: len(listener.received) >= len(EXPECTED))
            await asyncio.sleep(0.5)
            await client.get_workflow_handle(wid).terminate()
    finally:
        await acts.aclose()
        await listener.stop()
    assert types_of(listener.received) == EXPECTED
    ids = [e["eventId"] for e in listener.received]
    assert len(set(ids)) == len(ids)
    first = listener.received[0]
    assert first["details"]["source"] == "orca" and first["details"]["application"] == app
    assert first["content"]["executionId"] == execution["id"]
    stage = listener.received[1]["content"]
    assert stage["name"] == "first" and stage["execution"]["id"] == execution["id"]
    assert listener.received[2]["content"]["taskName"].startswith("wait.")
    assert listener.headers[0]["Authorization"] == "Splunk t0k"
    assert "seq" not in first
