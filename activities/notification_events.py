"""The notifications' reader: Echo's notification agents, reading the outbox.

Every transition the engine records writes its Echo events into the outbox (core/store/events.py) in the same
transaction; REST listeners, ``GET /events`` and the UI's live view read them from there, and so do notifications.
One ``DeliverNotifications`` workflow per deployment (workflows/notification_delivery.py) runs
``read_notifications`` from its cursor again and again: the activity reads the events after the cursor, keeps those
that ask for a notification (integrations/notify/events.py, Echo's rule) and answers with one
``send_notification`` input per entry. The workflow starts those sends in the background and records a send that
gave up through ``record_notification_failure`` (a ``systemNotifications`` entry of the execution). The engine only
writes the outbox: no pipeline waits for a channel.

Executions an older build runs (their workflows sent their own notifications) are left to that build: the engine
marks the executions whose notifications come from here in their engine data (``notify``: ``events``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from core.messages.notifications import (
    ENGINE_MARK,
    READ_NOTIFICATIONS,
    RECORD_NOTIFICATION_FAILURE,
    WORKFLOW_TYPE,
    DeliverNotificationsInput,
    NotificationFailure,
    cursor_name,
    workflow_id,
)
from core.observability import metrics
from core.settings.events import EventSettings
from core.store.projection import DELIVERY_GROUP
from integrations.notify import events as rule
from integrations.notify.render import needs_evaluation, summarize

from .notify import SendNotificationInput

log = logging.getLogger(__name__)
#: events read per store query
BATCH = 100
#: sends answered at most per read (the rest of the events wait for the next read)
MAX_SENDS = 100


@dataclass
class ReadNotificationsResult:
    #: the last outbox sequence number read (every notification up to it is in ``sends``)
    cursor: int
    sends: list[SendNotificationInput] = field(default_factory=list)
    #: events read that were too old to notify about (``events.max_age_s``)
    too_old: int = 0


class NotificationReader:
    """Holds the store and the event settings (the outbox's poll interval and window, the age limit)."""

    def __init__(self, store: Any, settings: EventSettings) -> None:
        self.store = store
        self.settings = settings

    @activity.defn(name=READ_NOTIFICATIONS)
    async def read_notifications(self, req: DeliverNotificationsInput) -> ReadNotificationsResult:
        """The notifications of the events after ``req.cursor``: answers as soon as some are found, or after the
        poll window with the cursor moved past events that ask for none."""
        name = cursor_name(req.task_queue)
        cursor: int | None = req.cursor
        if cursor is None:
            cursor = await asyncio.to_thread(self.store.events.cursor, name)
        if cursor is None:
            cursor = int(await asyncio.to_thread(self.store.events.head))
        # the workflow has started every send up to its cursor: the truth if the workflow is ever replaced
        await asyncio.to_thread(self.store.events.save_cursor, name, cursor)
        result = ReadNotificationsResult(cursor=cursor)
        deadline = time.monotonic() + self.settings.poll_window_s
        while True:
            activity.heartbeat(result.cursor)
            batch = await asyncio.to_thread(self.store.events.after, result.cursor, limit=BATCH)
            if batch:
                await asyncio.to_thread(self._read, batch, result)
                if result.sends or time.monotonic() >= deadline:
                    return result
                continue
            if time.monotonic() >= deadline:
                return result
            await asyncio.sleep(self.settings.poll_interval_s)

    @activity.defn(name=RECORD_NOTIFICATION_FAILURE)
    async def record_notification_failure(self, failure: NotificationFailure) -> bool:
        """Add the failure to its execution's ``systemNotifications`` (a retry adds nothing twice)."""
        entry = {"createdAt": failure.created_at, "group": DELIVERY_GROUP, "message": failure.message, "closed": False}
        return bool(await asyncio.to_thread(self.store.executions.add_system_notification, failure.execution_id, entry))

    # -- the events' notifications (a thread: these read the store)

    def _read(self, batch: list[dict[str, Any]], result: ReadNotificationsResult) -> None:
        """Move ``result.cursor`` through ``batch``, adding each event's sends, up to :data:`MAX_SENDS`."""
        applications: dict[str, list[dict[str, Any]]] = {}
        marked: dict[str, bool] = {}
        oldest = (time.time() - self.settings.max_age_s) * 1000
        for event in batch:
            if len(result.sends) >= MAX_SENDS:
                return
            result.cursor = int(event["seq"])
            created = int((event.get("details") or {}).get("created") or 0)
            if created and created < oldest:
                result.too_old += 1
                continue
            sends = self._sends(event, applications, marked)
            if sends:
                result.sends.extend(sends)
                if created:
                    metrics.notifications_started(time.time() - created / 1000)

    def _sends(
        self,
        event: dict[str, Any],
        applications: dict[str, list[dict[str, Any]]],
        marked: dict[str, bool],
    ) -> list[SendNotificationInput]:
        kind = rule.event_kind(event)
        if kind is None or kind[0] not in ("pipeline", "orchestration", "stage"):
            return []
        content = event.get("content") or {}
        execution_id = str(content.get("executionId") or "")
        application = str((event.get("details") or {}).get("application") or "")
        entries: list[dict[str, Any]] = []
        if kind[0] != "stage" and application:
            if application not in applications:
                applications[application] = self.store.notifications.entries(application)
            entries = applications[application]
        if not execution_id or not rule.may_notify(event, entries) or not self._marked(execution_id, marked):
            return []
        header = content.get("execution") or {}
        stage: dict[str, Any] | None = None
        if kind[0] == "stage":
            # its type and refId, which Orca's stage events do not carry: the stored row, not the whole execution
            stage = self.store.executions.stage(execution_id, str(content.get("stageId") or ""))
            if stage is None:
                return []
            stage = {**stage, "context": rule.stage_context(event)}
        wanted = rule.wanted(event, application_entries=entries, stage_type=(stage or {}).get("type"))
        if not wanted:
            return []
        summary = summarize(header, stage)
        stage_id = stage.get("id") if stage is not None else None
        return [
            SendNotificationInput(
                notification=entry,
                when=when,
                execution=summary,
                # one id per event and entry: a receiver can tell a retried send from a new one
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"gennaker:{event.get('eventId')}:{i}")),
                execution_id=execution_id if needs_evaluation(entry, when) else None,
                stage_id=stage_id if needs_evaluation(entry, when) else None,
            )
            for i, (when, entry) in enumerate(wanted)
        ]

    def _marked(self, execution_id: str, marked: dict[str, bool]) -> bool:
        """Is the execution run by an engine that leaves its notifications to this reader?"""
        if execution_id not in marked:
            engine = self.store.executions.get_engine(execution_id) or {}
            marked[execution_id] = engine.get(ENGINE_MARK[0]) == ENGINE_MARK[1]
        return marked[execution_id]


def build(settings: Any, store: Any) -> list[Any]:
    """The reader's activities, when a store exists."""
    if store is None:
        return []
    events = getattr(settings, "events", None)
    reader = NotificationReader(store, events if isinstance(events, EventSettings) else EventSettings())
    return [reader.read_notifications, reader.record_notification_failure]


async def start_notifications(client: Any, settings: Any, store: Any, *, versioned: bool | None = None) -> str:
    """Start the deployment's reader unless it runs (worker.py, while its build is the current one); its first cursor
    is the stored one, else the outbox's head read here. Returns the workflow id.

    It starts on the deployment's current build, and each of its runs moves to the build current then (it continues
    as new with ``AUTO_UPGRADE``): a reader never waits on a build that is being retired."""
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    task_queue = str(settings.task_queue)
    cursor = await asyncio.to_thread(store.events.cursor, cursor_name(task_queue))
    if cursor is None:
        cursor = await asyncio.to_thread(store.events.head)
    wid = workflow_id(task_queue)
    if versioned is None:  # the deployment's workers are versioned (an in-process stack's may not be)
        versioned = bool(getattr(getattr(settings, "deployment", None), "versioning", False))
    await client.start_workflow(
        WORKFLOW_TYPE,
        # ignored when the workflow runs
        DeliverNotificationsInput(task_queue=task_queue, cursor=cursor, versioned=versioned),
        id=wid,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary="notifications from the engine's events",
    )
    return wid
