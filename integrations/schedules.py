"""Create-or-update and delete of Temporal Schedules, shared by every kind of Schedule Gennaker keeps in step with
its configuration: cron triggers (``integrations/triggers/schedules.py``), the cloud cache (``api/cloud_cache.py``)
and the Jenkins build monitor (``integrations/jenkins/schedules.py``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode


def every(action: ScheduleActionStartWorkflow, interval: timedelta, *, note: str = "") -> Schedule:
    """A Schedule that starts ``action`` every ``interval``, skipping a run while the previous one still runs."""
    return Schedule(
        action=action,
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=note),
    )


async def put_schedule(
    client: Client, schedule_id: str, schedule: Schedule, *, trigger_immediately: bool = False
) -> bool:
    """Create the Schedule, or replace the one of that id with ``schedule``; True when it was created.
    ``trigger_immediately`` starts one run at once, only when the Schedule is new."""
    try:
        await client.create_schedule(schedule_id, schedule, trigger_immediately=trigger_immediately)
        return True
    except ScheduleAlreadyRunningError:
        pass

    def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(update)
    return False


async def delete_schedule(client: Client, schedule_id: str) -> None:
    """Delete the Schedule; one that is already gone is fine."""
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as err:
        # a deleted Schedule answers NOT_FOUND, worded "not found" or "workflow execution already completed"
        if err.status != RPCStatusCode.NOT_FOUND and "not found" not in str(err).lower():
            raise


async def schedule_ids(client: Client, prefix: str) -> set[str]:
    """The ids of every Schedule whose id starts with ``prefix``."""
    return {s.id async for s in await client.list_schedules() if s.id.startswith(prefix)}


async def sync_schedules(
    client: Client, prefix: str, wanted: dict[str, Schedule], *, trigger_immediately: bool = False
) -> list[str]:
    """Make the Schedules whose ids start with ``prefix`` exactly ``wanted``: put each, delete the others.
    Returns the wanted ids, sorted."""
    for sid, schedule in wanted.items():
        await put_schedule(client, sid, schedule, trigger_immediately=trigger_immediately)
    for sid in await schedule_ids(client, prefix) - set(wanted):
        await delete_schedule(client, sid)
    return sorted(wanted)
