"""The one create-or-update of Temporal Schedules (cron triggers, cloud cache, Jenkins polls), on the dev server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
)

from integrations import schedules
from integrations.schedules import delete_schedule, put_schedule, schedule_ids

pytestmark = pytest.mark.temporal


def every(minutes: int, note: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow("Nothing", id=f"nothing-{uuid.uuid4()}", task_queue="nowhere"),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=minutes))]),
        state=ScheduleState(paused=True, note=note),
    )


async def test_put_creates_then_replaces_and_delete_tolerates_missing(client: Client) -> None:
    prefix = f"test-{uuid.uuid4()}:"
    sid = f"{prefix}one"
    assert await put_schedule(client, sid, every(5, "first")) is True
    assert await put_schedule(client, sid, every(7, "second")) is False
    described = await client.get_schedule_handle(sid).describe()
    assert described.schedule.spec.intervals[0].every == timedelta(minutes=7)
    assert described.schedule.state.note == "second"
    for _ in range(50):  # the schedule list is eventually consistent
        if await schedule_ids(client, prefix) == {sid}:
            break
    assert await schedule_ids(client, prefix) == {sid}
    await delete_schedule(client, sid)
    await delete_schedule(client, sid)  # already gone: fine


async def test_sync_puts_the_wanted_and_deletes_the_rest_of_its_prefix(client: Client) -> None:
    prefix = f"test-{uuid.uuid4()}:"
    elsewhere = f"other-{uuid.uuid4()}"
    for sid in (f"{prefix}stale", elsewhere):
        await put_schedule(client, sid, every(5, "old"))
    for _ in range(50):  # the schedule list is eventually consistent
        if await schedule_ids(client, prefix) == {f"{prefix}stale"}:
            break
    action = ScheduleActionStartWorkflow("Nothing", id=f"nothing-{uuid.uuid4()}", task_queue="nowhere")
    wanted = {f"{prefix}keep": schedules.every(action, timedelta(hours=1), note="kept")}
    assert await schedules.sync_schedules(client, prefix, wanted) == [f"{prefix}keep"]
    described = await client.get_schedule_handle(f"{prefix}keep").describe()
    assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
    assert described.schedule.state.note == "kept" and not described.schedule.state.paused
    assert described.schedule.policy.overlap.name == "SKIP"
    with pytest.raises(Exception, match="(?i)not found|already completed"):
        await client.get_schedule_handle(f"{prefix}stale").describe()
    assert (await client.get_schedule_handle(elsewhere).describe()).schedule.state.note == "old"
    for sid in (f"{prefix}keep", elsewhere):
        await delete_schedule(client, sid)
