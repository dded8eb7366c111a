"""Create-or-update and delete of Temporal Schedules, shared by every kind of Schedule Gennaker keeps in step with
its configuration: cron triggers (``integrations/triggers/schedules.py``), the cloud cache (``api/cloud_cache.py``)
and the Jenkins build monitor (``integrations/jenkins/schedules.py``)."""

from __future__ import annotations

from temporalio.client import Client, Schedule, ScheduleAlreadyRunningError, ScheduleUpdate, ScheduleUpdateInput
from temporalio.service import RPCError, RPCStatusCode


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
