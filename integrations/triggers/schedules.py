"""Cron triggers as Temporal Schedules, kept in step with the pipeline configs.

One Schedule per cron trigger, id ``gennaker-cron:<pipeline id>:<trigger id>``. Saving a pipeline
creates or updates its Schedules, disabling the pipeline or a trigger pauses them, deleting the
pipeline or a trigger deletes them; :func:`reconcile` does the same for every pipeline at once (the
API runs it when it starts, so nothing that changed while it was down drifts).

A Schedule starts the ``CronTrigger`` workflow, which starts the pipeline (``workflows/triggers.py``).
Missed runs: Temporal starts the runs it missed while it was down if they are at most
``cron_catchup_window_s`` late (Echo re-fires misses of the last 10 minutes); older ones are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
)

from integrations.schedules import delete_schedule, put_schedule
from workflows.triggers import CronTriggerInput

from .cron import CronError, parse_quartz

log = logging.getLogger(__name__)
Json = dict[str, Any]
PREFIX = "gennaker-cron:"


def _enabled(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def schedule_id(pipeline_id: str, trigger_id: str) -> str:
    return f"{PREFIX}{pipeline_id}:{trigger_id}"


def _pipeline_of(sid: str) -> str | None:
    """The pipeline id in a Schedule id of ours (trigger ids are Front50's UUIDs, without colons)."""
    return sid[len(PREFIX) :].rsplit(":", 1)[0] if sid.startswith(PREFIX) and sid.count(":") >= 2 else None


def cron_triggers(pipeline: Json) -> list[Json]:
    return [t for t in pipeline.get("triggers") or [] if isinstance(t, dict) and t.get("type") == "cron"]


def check_cron_triggers(pipeline: Json, time_zone: str) -> None:
    """Refuse (``CronError`` naming the trigger) a cron expression that cannot be scheduled exactly."""
    for i, trigger in enumerate(cron_triggers(pipeline)):
        expression = trigger.get("cronExpression")
        if not isinstance(expression, str) or not expression.strip():
            raise CronError(f"triggers[{i}].cronExpression: a cron trigger needs an expression")
        try:
            parse_quartz(expression, trigger_id=str(trigger.get("id") or ""), time_zone=time_zone)
        except CronError as err:
            raise CronError(f"triggers[{i}].cronExpression: {err}") from None


@dataclass(frozen=True)
class Wanted:
    """A Schedule as one cron trigger of a saved pipeline asks for it."""

    id: str
    schedule: Schedule


def wanted(pipeline: Json, settings: Any) -> list[Wanted]:
    """The Schedules a saved pipeline's cron triggers ask for (paused when the pipeline or trigger is disabled).
    Triggers whose expression cannot be scheduled are left out (the API refuses them on save)."""
    pipeline_id = pipeline.get("id")
    if not isinstance(pipeline_id, str) or not pipeline_id:
        return []
    out: list[Wanted] = []
    for trigger in cron_triggers(pipeline):
        trigger_id = trigger.get("id")
        if not isinstance(trigger_id, str) or not trigger_id:
            continue
        try:
            cron = parse_quartz(
                str(trigger.get("cronExpression") or ""), trigger_id=trigger_id, time_zone=settings.cron_timezone
            )
        except CronError as err:
            log.warning("pipeline %s: cron trigger %s not scheduled: %s", pipeline_id, trigger_id, err)
            continue
        paused = _enabled(pipeline.get("disabled"), default=False) or not _enabled(trigger.get("enabled"))
        sid = schedule_id(pipeline_id, trigger_id)
        action = ScheduleActionStartWorkflow(
            "CronTrigger",
            CronTriggerInput(str(pipeline.get("application") or ""), pipeline_id, trigger_id),
            id=sid,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(minutes=10),
            static_summary=f"cron {cron.expression} of {pipeline.get('application')}/{pipeline.get('name')}",
        )
        schedule = Schedule(
            action=action,
            spec=cron.spec,
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.ALLOW_ALL,  # the pipeline's own concurrency rules decide
                catchup_window=timedelta(seconds=settings.cron_catchup_window_s),
            ),
            state=ScheduleState(paused=paused, note=f"{pipeline.get('application')}/{pipeline.get('name')}"),
        )
        out.append(Wanted(sid, schedule))
    return out


async def _existing(client: Client, pipeline_id: str | None = None) -> set[str]:
    """Our Schedules (of one pipeline, when given)."""
    ids = {s.id async for s in await client.list_schedules() if _pipeline_of(s.id) is not None}
    return ids if pipeline_id is None else {i for i in ids if _pipeline_of(i) == pipeline_id}


async def _put(client: Client, want: Wanted) -> None:
    await put_schedule(client, want.id, want.schedule)


async def _delete(client: Client, sid: str) -> None:
    await delete_schedule(client, sid)


async def sync_pipeline(client: Client, settings: Any, pipeline: Json) -> list[str]:
    """Bring one pipeline's Schedules in line with its config; returns the ids it keeps."""
    pipeline_id = str(pipeline.get("id") or "")
    wants = wanted(pipeline, settings)
    for want in wants:
        await _put(client, want)
    keep = {w.id for w in wants}
    for sid in await _existing(client, pipeline_id) - keep:
        await _delete(client, sid)
    return sorted(keep)


async def remove_pipeline(client: Client, pipeline_id: str) -> None:
    """Delete every Schedule of a deleted pipeline."""
    for sid in await _existing(client, pipeline_id):
        await _delete(client, sid)


async def reconcile(client: Client, settings: Any, pipelines: Iterable[Json]) -> dict[str, int]:
    """Make the Schedules exactly those every saved pipeline's cron triggers ask for."""
    keep: set[str] = set()
    for pipeline in pipelines:
        for want in wanted(pipeline, settings):
            await _put(client, want)
            keep.add(want.id)
    stale = await _existing(client) - keep
    for sid in stale:
        await _delete(client, sid)
    return {"kept": len(keep), "deleted": len(stale)}
