"""Create-or-update and delete of Temporal Schedules, shared by every kind of Schedule Gennaker keeps in step with
its configuration: cron triggers (``integrations/triggers/schedules.py``), the cloud cache (``api/cloud_cache.py``)
and the build monitors (``integrations/jenkins/schedules.py``, ``integrations/ci/schedules.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

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


#: a build monitor's poll that takes longer than this is stopped (the next run starts over from the saved cursors)
POLL_TIMEOUT = timedelta(minutes=10)


def build_poll_schedules(
    prefix: str,
    sources: list[str],
    *,
    workflow: str,
    make_input: Callable[[str], Any],
    task_queue: str,
    interval: timedelta,
    label: str,
) -> dict[str, Schedule]:
    """Igor's build monitors as Schedules: one per source (a Jenkins master, a build service), ``<prefix><name>``,
    starting ``workflow`` with ``make_input(name)`` every ``interval``; a run still going when the next is due makes
    the Schedule skip that one."""
    out: dict[str, Schedule] = {}
    for name in sources:
        sid = f"{prefix}{name}"
        out[sid] = every(
            ScheduleActionStartWorkflow(
                workflow,
                make_input(name),
                id=sid,
                task_queue=task_queue,
                execution_timeout=POLL_TIMEOUT,
                static_summary=f"poll {label} {name} for finished builds",
            ),
            interval,
            note=f"Igor's build monitor of {name}",
        )
    return out


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
        if err.status != RPCStatusCode.NOT_FOUND:
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
