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
