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

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
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
from temporalio.service import RPCError, RPCStatusCode

from core.fields import flag
from core.messages.triggers import CronTriggerInput
from integrations.schedules import delete_schedule, put_schedule

from .cron import CronError, parse_quartz

log = logging.getLogger(__name__)
Json = dict[str, Any]
PREFIX = "gennaker-cron:"


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


# The pipeline as the store has it now (None when it was deleted); each process reads it, none keeps a copy.
Loader = Callable[[str], Awaitable[Json | None]]
MAX_PASSES = 10
DIGEST_MARK = " #"


@dataclass(frozen=True)
class Wanted:
    """A Schedule as one cron trigger of a saved pipeline asks for it; ``digest`` (in the Schedule's note) tells
    whether the one in Temporal already is this."""

    id: str
    schedule: Schedule
    digest: str = ""


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


async def schedule_digest(client: Client, schedule_id: str) -> str | None:
    """The digest the Schedule was put with ("" for one without), None when there is no such Schedule."""
    try:
        described = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    note = described.schedule.state.note or ""
    return note.rsplit(DIGEST_MARK, 1)[1] if DIGEST_MARK in note else ""


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
        paused = flag(pipeline.get("disabled"), False) or not flag(trigger.get("enabled"), True)
        sid = schedule_id(pipeline_id, trigger_id)
        action = ScheduleActionStartWorkflow(
            "CronTrigger",
            CronTriggerInput(str(pipeline.get("application") or ""), pipeline_id, trigger_id),
            id=sid,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(minutes=10),
            static_summary=f"cron {cron.expression} of {pipeline.get('application')}/{pipeline.get('name')}",
        )
        label = f"{pipeline.get('application')}/{pipeline.get('name')}"
        digest = _digest(
            [label, pipeline_id, trigger_id, cron.expression, settings.cron_timezone, settings.task_queue],
            [settings.cron_catchup_window_s, paused],
        )
        schedule = Schedule(
            action=action,
            spec=cron.spec,
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.ALLOW_ALL,  # the pipeline's own concurrency rules decide
                catchup_window=timedelta(seconds=settings.cron_catchup_window_s),
            ),
            state=ScheduleState(paused=paused, note=f"{label}{DIGEST_MARK}{digest}"),
        )
        out.append(Wanted(sid, schedule, digest))
    return out


async def _existing(client: Client, pipeline_id: str | None = None) -> set[str]:
    """Our Schedules (of one pipeline, when given), as Temporal's visibility lists them."""
    ids = {s.id async for s in await client.list_schedules() if _pipeline_of(s.id) is not None}
    return ids if pipeline_id is None else {i for i in ids if _pipeline_of(i) == pipeline_id}


def store_loader(store: Any) -> Loader:
    """A :data:`Loader` reading ``store`` (``get_pipeline``; NotFoundError → None)."""
    from core.store import NotFoundError

    async def load(pipeline_id: str) -> Json | None:
        try:
            doc: Json = await asyncio.to_thread(store.pipelines.get, pipeline_id)
        except NotFoundError:
            return None
        return await asyncio.to_thread(_trigger_view, store, doc)

    return load


def _trigger_view(store: Any, pipeline: Json) -> Json:
    """MPTv2: a templated pipeline's cron triggers are its rendered ones (inherited from its template)."""
    from templates.stored import trigger_views

    return trigger_views(store, [pipeline])[0]


async def _wanted_now(load: Loader, settings: Any, pipeline_id: str) -> dict[str, Wanted]:
    current = await load(pipeline_id)
    return {w.id: w for w in wanted(current, settings)} if current is not None else {}


async def converge(
    client: Client, settings: Any, pipeline_id: str, load: Loader, *, listed: set[str] | None = None
) -> list[str]:
    """Make one pipeline's Schedules what the store holds *now*; returns the ids kept.

    Several API processes save at once, so nothing here trusts a copy: each pass reads the pipeline from the
    store, puts each wanted Schedule whose digest differs, and deletes a Schedule only after reading the store
    again right before deleting it. Passes repeat until one changes nothing, so whichever process mutates last
    also checks last, against a store read made after its own mutation. ``listed``: the pipeline's Schedule ids
    from a listing the caller just made, used by the first pass instead of listing again."""
    touched: set[str] = set()  # ids this call put: visibility may not list them yet
    for attempt in range(MAX_PASSES):
        wants = await _wanted_now(load, settings, pipeline_id)
        changed = False
        for want in wants.values():
            if await schedule_digest(client, want.id) != want.digest:
                await put_schedule(client, want.id, want.schedule)
                touched.add(want.id)
                changed = True
        present = listed if attempt == 0 and listed is not None else await _existing(client, pipeline_id)
        for sid in sorted((present | touched) - set(wants)):
            if sid in await _wanted_now(load, settings, pipeline_id):
                changed = True  # saved meanwhile: the next pass puts it
                continue
            if await schedule_digest(client, sid) is not None:
                await delete_schedule(client, sid)
                changed = True
        if not changed:
            return sorted(wants)
    log.warning(
        "pipeline %s: its Schedules still changed after %d passes; the next save converges", pipeline_id, MAX_PASSES
    )
    return sorted(await _wanted_now(load, settings, pipeline_id))


def _given(pipeline: Json | None) -> Loader:
    async def load(_: str) -> Json | None:
        return pipeline

    return load


async def sync_pipeline(client: Client, settings: Any, pipeline: Json, load: Loader | None = None) -> list[str]:
    """Bring one pipeline's Schedules in line with the store (``load``; without it, with ``pipeline`` as given,
    for a single process); returns the ids it keeps."""
    pipeline_id = str(pipeline.get("id") or "")
    return await converge(client, settings, pipeline_id, load or _given(pipeline))


async def remove_pipeline(client: Client, pipeline_id: str, settings: Any = None, load: Loader | None = None) -> None:
    """Delete the Schedules of a deleted pipeline (unless ``load``, given with ``settings``, finds it saved again
    meanwhile: then they become what it wants)."""
    if load is not None and settings is None:
        raise ValueError("remove_pipeline: a loader needs the settings")
    await converge(client, settings, pipeline_id, load or _given(None))


async def reconcile(
    client: Client, settings: Any, pipelines: Iterable[Json], load: Loader | None = None
) -> dict[str, int]:
    """Make the Schedules exactly those the stored pipelines' cron triggers ask for.

    ``pipelines`` says where to look; what each pipeline wants is read from the store (``load``) when it is
    converged, so a pipeline saved or deleted by another process meanwhile keeps what that process made. Without
    ``load`` the listed pipelines are taken as the truth (one process, tests)."""
    listed = {str(p.get("id")): p for p in pipelines if isinstance(p.get("id"), str) and p.get("id")}

    async def from_list(pipeline_id: str) -> Json | None:
        return listed.get(pipeline_id)

    loader = load or from_list
    present: dict[str, set[str]] = {}
    for sid in await _existing(client):
        present.setdefault(_pipeline_of(sid) or "", set()).add(sid)
    kept = deleted = 0
    for pipeline_id in sorted(set(listed) | set(present)):
        before = present.get(pipeline_id, set())
        keep = await converge(client, settings, pipeline_id, loader, listed=before)
        kept += len(keep)
        deleted += len(before - set(keep))
    return {"kept": kept, "deleted": deleted}
