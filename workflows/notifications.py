"""Echo's notifications, sent from the pipeline workflow without holding it up.

The pipeline calls :meth:`Notifier.notify` at each event (``pipeline.starting``, ``stage.complete``,
``manualJudgment``...). Entries whose ``when`` lists the event each become one ``send_notification``
activity, started in the background: stages never wait for a channel, and neither does the stored end of the
pipeline. A channel that still fails after its retries adds a ``systemNotifications`` entry to the execution
(Deck shows those as a banner) and never changes a status. When the pipeline ends, its end is written at once;
the workflow then waits at most :data:`GRACE` for sends still under way and writes their failures; sends
still retrying after that are dropped.

Custom ``message.<when>.text`` is an expression (trigger, parameters, execution, and for stage events the
stage's context), as Orca evaluates notification text: the activity evaluates it against the store's copy
of the execution, which the workflow references by id.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from core.status import ExecutionStatus as S
from core.status import end_event_word

from .execution import ExecutionState, StageState

with workflow.unsafe.imports_passed_through():
    from activities.notify import SendNotificationInput
    from integrations.notify.render import needs_evaluation, summarize, wants

GRACE = timedelta(seconds=30)
SEND_NOTIFICATION = "send_notification"
RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=30), maximum_attempts=5)
JUDGMENT_EVENTS = {"continue": "manualJudgmentContinue", "stop": "manualJudgmentStop"}
JSON = dict[str, Any]


def now_ms() -> int:
    return int(workflow.now().timestamp() * 1000)


def pipeline_event(status: S) -> str:
    """The notification of Orca's ``orca:pipeline:<word>`` event, as Echo sends it: ``pipeline.complete`` for a
    successful end (SUCCEEDED, STOPPED, SKIPPED), ``pipeline.failed`` for anything else (core.status.end_event_word)."""
    return f"pipeline.{end_event_word(status, 'pipeline')}"


def stage_event(status: S) -> str:
    """``stage.complete`` for SUCCEEDED, ``stage.skipped`` for SKIPPED (no notification type of Deck's asks for it),
    ``stage.failed`` for anything else, FAILED_CONTINUE and STOPPED included: Orca's ``orca:stage:<word>``."""
    return f"stage.{end_event_word(status, 'stage')}"


def _stage_entries(stage: StageState, when: str) -> list[Any]:
    entries = stage.context.get("notifications")
    if not isinstance(entries, list):
        return []
    if when.startswith("stage.") and stage.context.get("sendNotifications") not in (True, "true"):
        return []  # Orca sends stage events only for stages that ask (Deck's "send notifications" box)
    return entries


def _entries(source: list[Any], when: str) -> list[JSON]:
    return [e for e in source if isinstance(e, dict) and wants(e, when)]


class Notifier:
    """The pipeline workflow's notifications under way."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[None]] = []
        #: the application's notifications (from the store, when the execution was first recorded)
        self.application: list[Any] = []

    def notify(
        self, ex: ExecutionState, when: str, stage: StageState | None = None, *, application_only: bool = False
    ) -> None:
        """Start sending what the execution's, the application's (pipeline events) or the stage's
        notifications ask for at ``when``."""
        if stage is not None:
            entries = _entries(_stage_entries(stage, when), when)
        else:
            entries = _entries(self.application, when)
            if not application_only:
                entries = _entries(ex.notifications, when) + entries
        if not entries:
            return
        summary = summarize(ex.to_json(), stage.to_json() if stage is not None else None)
        stage_id = stage.id if stage is not None else None
        for entry in entries:
            # message text is evaluated by the activity, from the store's copy of the execution (it needs the
            # whole execution, which this workflow holds only in compact form)
            self.pending.append(asyncio.ensure_future(self._send(ex, entry, when, summary, stage_id)))

    async def _send(
        self, ex: ExecutionState, entry: JSON, when: str, summary: Any, stage_id: str | None = None
    ) -> None:
        by_reference = needs_evaluation(entry, when)
        try:
            await workflow.execute_activity(
                SEND_NOTIFICATION,
                SendNotificationInput(
                    notification=entry,
                    when=when,
                    execution=summary,
                    execution_id=ex.id if by_reference else None,
                    stage_id=stage_id if by_reference else None,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
                summary=f"{entry.get('type')} notification: {when}",
            )
        except ActivityError as err:
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            ex.system_notifications.append(
                {
                    "createdAt": now_ms(),
                    "group": "notification",
                    "message": f"{entry.get('type')} notification for {when} failed: {cause}",
                    "closed": False,
                }
            )

    def under_way(self) -> bool:
        """Whether a send started by this workflow has not finished yet."""
        return any(not f.done() for f in self.pending)

    async def drain(self) -> None:
        """Wait (at most :data:`GRACE`) for the sends under way."""
        if self.pending:
            pending = self.pending
            try:
                await workflow.wait_condition(lambda: all(f.done() for f in pending), timeout=GRACE)
            except TimeoutError:
                workflow.logger.warning("notifications still retrying after %s are dropped", GRACE)


MIN_REMINDER = timedelta(seconds=2)


def _every(value: Any) -> timedelta | None:
    """``notifyEveryMs`` as an interval (at least :data:`MIN_REMINDER`), None when reminders are off."""
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(milliseconds=ms), MIN_REMINDER) if ms > 0 else None
