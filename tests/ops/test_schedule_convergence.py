"""Cron Schedules converge on the store at the moment they change, not on a copy a process read earlier."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from core.settings import Settings
from core.store import Store
from integrations.triggers import schedules

pytestmark = pytest.mark.temporal


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    yield store
    store.close()


def config(pipeline_id: str, *trigger_ids: str) -> dict[str, Any]:
    return {
        "id": pipeline_id,
        "application": "conv",
        "name": pipeline_id,
        "stages": [{"refId": "1", "type": "wait", "waitTime": 0}],
        "triggers": [{"type": "cron", "id": t, "enabled": True, "cronExpression": "0 0 4 * * ?"} for t in trigger_ids],
    }


async def exists(client: Client, sid: str) -> bool:
    return await schedules.schedule_digest(client, sid) is not None


async def test_a_reconcile_from_an_old_snapshot_keeps_what_was_saved_since(client: Client, store: Store) -> None:
    settings = Settings()
    load = schedules.store_loader(store)
    old, new = f"conv-{uuid.uuid4().hex[:8]}", f"conv-{uuid.uuid4().hex[:8]}"
    store.pipelines.save(config(old, "a"), "ops")
    snapshot = store.pipelines.all()  # what a starting API read ...
    store.pipelines.save(config(new, "b"), "ops")  # ... before another API saved this one and put its Schedule
    await schedules.sync_pipeline(client, settings, store.pipelines.get(new), load)
    store.pipelines.save(config(old, "c"), "ops")  # and changed this one's trigger
    await schedules.sync_pipeline(client, settings, store.pipelines.get(old), load)

    await schedules.reconcile(client, settings, snapshot, load)

    assert await exists(client, schedules.schedule_id(new, "b")), "a Schedule saved after the snapshot was deleted"
    assert await exists(client, schedules.schedule_id(old, "c"))
    assert not await exists(client, schedules.schedule_id(old, "a")), "the snapshot's trigger came back"
    for pid in (old, new):
        await schedules.remove_pipeline(client, pid)


async def test_a_late_sync_with_an_old_copy_ends_with_the_stores_version(client: Client, store: Store) -> None:
    settings = Settings()
    load = schedules.store_loader(store)
    pid = f"conv-{uuid.uuid4().hex[:8]}"
    first = store.pipelines.save(config(pid, "one"), "ops")
    store.pipelines.save(config(pid, "two"), "ops")  # saved by another process meanwhile
    kept = await schedules.sync_pipeline(client, settings, first, load)  # this process still holds "one"
    assert kept == [schedules.schedule_id(pid, "two")]
    assert await exists(client, schedules.schedule_id(pid, "two"))
    assert not await exists(client, schedules.schedule_id(pid, "one"))

    store.pipelines.delete("conv", pid)
    await schedules.sync_pipeline(client, settings, first, load)  # a save's sync that runs after the delete
    assert not await exists(client, schedules.schedule_id(pid, "two"))
    assert not await exists(client, schedules.schedule_id(pid, "one"))
