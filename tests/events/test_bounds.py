"""The delivery activity's bounds and the workflows' reconciliation at worker start: events older than
``max_age_s`` and a backlog beyond ``max_behind`` are dropped and counted; a filtered event is not posted; each
configured endpoint gets one workflow however often workers start, and a removed endpoint's workflow ends."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.events import EventActivities, start_deliveries
from core.messages.events import DeliverEventsInput, DeliverEventsResult, workflow_id
from core.observability import metrics
from core.settings.events import EventSettings
from core.store import Store
from integrations.outbound import OutboundPolicy, OutboundSettings
from workflows.all import workflow_runner
from workflows.events import DeliverEchoEventsWorkflow

from .endpoint import Listener

POLICY = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.0/8"]))


def event(n: int, *, age_s: float = 0, kind: str = "orca:stage:complete", app: str = "app") -> dict[str, Any]:
    created = str(int((time.time() - age_s) * 1000))
    return {"details": {"source": "orca", "type": kind, "created": created, "application": app},
            "content": {"n": n}, "eventId": f"e{n}-{uuid.uuid4()}"}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(f"sqlite:///{tmp_path / 'g.db'}")
    s.migrate()
    yield s
    s.close()


async def run_once(store: Store, listener: Listener, **settings: Any) -> Any:
    config = EventSettings.model_validate(
        {
            "endpoints": [{"name": "hec", "url": listener.url, **settings.pop("endpoint", {})}],
            "poll_window_s": 1,
            "poll_interval_s": 0.05,
            **settings,
        }  # fmt: skip
    )
    acts = EventActivities(store, config, POLICY)
    total = DeliverEventsResult(cursor=0)
    try:  # one activity run returns after its poll window: run again until the outbox is done, as the workflow does
        while total.cursor < store.events.head():
            inp = DeliverEventsInput(endpoint="hec", cursor=total.cursor)
            result = await ActivityEnvironment().run(acts.deliver_events, inp)
            total = DeliverEventsResult(
                result.cursor, total.delivered + result.delivered, total.dropped + result.dropped
            )
        return total
    finally:
        await acts.aclose()


def deliveries(result: str) -> float:
    """gennaker_event_deliveries_total for the test endpoint (the worker's /metrics shows it)."""
    value = metrics.REGISTRY.get_sample_value("gennaker_event_deliveries_total", {"endpoint": "hec", "result": result})
    return value or 0.0


async def test_old_events_are_dropped_and_filters_apply(store: Store) -> None:
    before = {r: deliveries(r) for r in ("delivered", "dropped")}
    listener = await Listener().start()
    try:
        store.events.append([event(1, age_s=7200), event(2), event(3, kind="orca:task:complete"), event(4, app="x")])
        result = await run_once(
            store, listener, max_age_s=3600, endpoint={"types": ["orca:stage:*"], "applications": ["app"]}
        )
    finally:
        await listener.stop()
    assert [e["content"]["n"] for e in listener.received] == [2]
    assert result.dropped == 1 and result.delivered == 1 and result.cursor == store.events.head()
    assert store.events.cursor("hec") == result.cursor
    assert {r: deliveries(r) - before[r] for r in before} == {"delivered": 1, "dropped": 1}


async def test_a_backlog_beyond_max_behind_skips_ahead(store: Store) -> None:
    dropped_before = deliveries("dropped")
    listener = await Listener().start()
    try:
        store.events.append([event(n) for n in range(150)])
        result = await run_once(store, listener, max_behind=100)
    finally:
        await listener.stop()
    assert result.dropped == 50
    assert deliveries("dropped") - dropped_before == 50
    assert [e["content"]["n"] for e in listener.received] == list(range(50, 150))


@pytest.mark.temporal
async def test_worker_start_reconciles_one_workflow_per_endpoint(client: Client, store: Store) -> None:
    queue = f"events-{uuid.uuid4()}"
    name = f"hec-{uuid.uuid4().hex[:8]}"

    class Settings:
        task_queue = queue
        events = EventSettings.model_validate({"endpoints": [{"name": name, "url": "http://127.0.0.1:9/x"}]})

    first = await start_deliveries(client, Settings)
    handle = client.get_workflow_handle(workflow_id(name))
    run_id = (await handle.describe()).run_id
    again = await start_deliveries(client, Settings)  # a second worker, or a restart: the same run goes on
    assert first == again == [workflow_id(name)]
    assert (await handle.describe()).run_id == run_id
    removed = EventSettings()  # the endpoint is gone from this worker's settings: its workflow ends
    acts = EventActivities(store, removed, POLICY)
    async with Worker(client, task_queue=queue, workflows=[DeliverEchoEventsWorkflow],
                      activities=[acts.deliver_events], activity_executor=ThreadPoolExecutor(2),
                      workflow_runner=workflow_runner()):  # fmt: skip
        await asyncio.wait_for(handle.result(), 30)
    await acts.aclose()
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


@pytest.mark.temporal
async def test_a_new_endpoint_starts_at_the_head_read_when_its_workflow_starts(client: Client, store: Store) -> None:
    """Events written after the worker started the endpoint's workflow but before its first activity ran (a worker
    waiting to become its deployment's current version) are delivered; those written before are not."""
    queue = f"events-{uuid.uuid4()}"
    name = f"hec-{uuid.uuid4().hex[:8]}"
    listener = await Listener().start()

    class Settings:
        task_queue = queue
        events = EventSettings.model_validate(
            {"endpoints": [{"name": name, "url": listener.url}], "poll_window_s": 1, "poll_interval_s": 0.05}
        )

    store.events.append([event(1), event(2)])  # before the endpoint existed: not its business
    await start_deliveries(client, Settings, store)
    store.events.append([event(3), event(4)])  # before the first activity: delivered
    acts = EventActivities(store, Settings.events, POLICY)
    handle = client.get_workflow_handle(workflow_id(name))
    try:
        async with Worker(client, task_queue=queue, workflows=[DeliverEchoEventsWorkflow],
                          activities=[acts.deliver_events], activity_executor=ThreadPoolExecutor(2),
                          workflow_runner=workflow_runner()):  # fmt: skip
            for _ in range(300):
                if len(listener.received) >= 2:
                    break
                await asyncio.sleep(0.05)
            await handle.terminate("test over")
    finally:
        await acts.aclose()
        await listener.stop()
    assert [e["content"]["n"] for e in listener.received] == [3, 4]


async def test_events_past_retention_are_purged(store: Store) -> None:
    listener = await Listener().start()
    try:
        store.events.append([event(1, age_s=3 * 86_400), event(2)])
        await run_once(store, listener, retention_days=1)
    finally:
        await listener.stop()
    assert [e["content"]["n"] for e in store.events.recent(since=0)] == [2]


async def test_the_reconciler_trims_the_outbox_when_no_endpoint_delivers(store: Store) -> None:
    """An installation without REST listeners has no delivery workflow to trim the outbox: the reconciler's
    run (it always runs with a store) drops events past ``events.retention_days``."""
    from activities.reconciler import ReconcilerActivities

    store.events.append([event(1, age_s=3 * 86_400), event(2)])
    kept_forever = ReconcilerActivities(client=None, store=store, events_retention_days=0)  # type: ignore[arg-type]
    assert await kept_forever.trim_events() == 0
    assert await ReconcilerActivities(client=None, store=store, events_retention_days=1).trim_events() == 1  # type: ignore[arg-type]
    assert [e["content"]["n"] for e in store.events.recent(since=0)] == [2]
