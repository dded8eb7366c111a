"""Echo's notifications, sent from the pipeline workflow without holding it up.

The pipeline calls :meth:`Notifier.notify` at each event (``pipeline.starting``, ``stage.complete``,
``manualJudgment``...). Entries whose ``when`` lists the event each become one ``send_notification``
activity, started in the background: stages never wait for a channel. A channel that still fails
after its retries adds a ``systemNotifications`` entry to the execution (Deck shows those as a banner)
and never changes a status. When the pipeline ends it waits at most :data:`GRACE` for sends still
under way, so the stored execution shows their failures; sends still retrying after that are dropped.

Custom ``message.<when>.text`` is evaluated here as an expression (trigger, parameters, execution,
and for stage events the stage's context), as Orca evaluates notification text.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from .execution import ExecutionState, StageState
from .status import ExecutionStatus as S

with workflow.unsafe.imports_passed_through():
    from activities.notify import SendNotificationInput
    from integrations.notify.render import summarize, wants

    from . import expressions as expr

PATCH = "notifications"
GRACE = timedelta(seconds=30)
SEND_NOTIFICATION = "send_notification"
RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=30), maximum_attempts=5)
JUDGMENT_EVENTS = {"continue": "manualJudgmentContinue", "stop": "manualJudgmentStop"}
JSON = dict[str, Any]


def now_ms() -> int:
    return int(workflow.now().timestamp() * 1000)


def pipeline_event(status: S) -> str:
    """``pipeline.complete`` for a success, ``pipeline.failed`` for anything else (Orca's rule)."""
    return "pipeline.complete" if status == S.SUCCEEDED else "pipeline.failed"


def stage_event(status: S) -> str:
    return "stage.complete" if status in (S.SUCCEEDED, S.FAILED_CONTINUE, S.SKIPPED) else "stage.failed"


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
        self.reminders: list[asyncio.Future[None]] = []
        #: send references (execution and stage ids) and let the activity evaluate message text from
        #: the store, instead of evaluating it here against the workflow's compact state
        self.by_reference = False

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
        if not entries or not workflow.patched(PATCH):
            return
        execution = ex.to_json()
        stage_json = stage.to_json() if stage is not None else None
        summary = summarize(execution, stage_json)
        for entry in entries:
            if self.by_reference:
                stage_id = stage.id if stage is not None else None
                self.pending.append(asyncio.ensure_future(self._send(ex, entry, when, summary, stage_id)))
                continue
            entry = _with_evaluated_text(entry, when, ex, execution, stage)
            self.pending.append(asyncio.ensure_future(self._send(ex, entry, when, summary)))

    def remind(self, ex: ExecutionState, stage: StageState) -> None:
        """Orca's ``notifyEveryMs`` as the previous release ran it (replays only): from the pipeline.
        Judgments now remind from a workflow of their own (``workflows/reminders.py``)."""
        entries = [
            e
            for e in _entries(_stage_entries(stage, "manualJudgment"), "manualJudgment")
            if _every(e.get("notifyEveryMs")) is not None
        ]
        if not entries or not workflow.patched(PATCH):
            return
        for entry in entries:
            every = _every(entry.get("notifyEveryMs"))
            assert every is not None
            self.reminders.append(asyncio.ensure_future(self._remind(ex, stage.ref_id, entry, every)))

    async def _remind(self, ex: ExecutionState, ref: str, entry: JSON, every: timedelta) -> None:
        def waiting() -> bool:
            stage = ex.stage_by_ref(ref)  # the pipeline replaces the stage object when the result arrives
            return stage is not None and stage.status == S.RUNNING

        while waiting():
            try:
                await workflow.wait_condition(lambda: not waiting(), timeout=every)
                return
            except TimeoutError:
                stage = ex.stage_by_ref(ref)
                if stage is None:
                    return
                summary = summarize(ex.to_json(), stage.to_json())
                judged = _with_evaluated_text(entry, "manualJudgment", ex, ex.to_json(), stage)
                self.pending.append(asyncio.ensure_future(self._send(ex, judged, "manualJudgment", summary)))

    async def _send(
        self, ex: ExecutionState, entry: JSON, when: str, summary: Any, stage_id: str | None = None
    ) -> None:
        by_reference = self.by_reference and needs_evaluation(entry, when)
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


def _with_evaluated_text(entry: JSON, when: str, ex: ExecutionState, execution: JSON, stage: StageState | None) -> JSON:
    return evaluate_text(
        entry, when, {**execution, "trigger": ex.trigger}, stage.to_json() if stage else None, now_ms()
    )


def needs_evaluation(entry: JSON, when: str) -> bool:
    """Does the entry's ``message.<when>.text`` hold an expression?"""
    message = entry.get("message")
    text = (
        message.get(when, {}).get("text") if isinstance(message, dict) and isinstance(message.get(when), dict) else None
    )
    return isinstance(text, str) and "${" in text


def evaluate_text(entry: JSON, when: str, execution: JSON, stage: JSON | None, timestamp_ms: int) -> JSON:
    """The entry with its ``message.<when>.text`` evaluated as Orca does: the stage's context (stage
    events), ``trigger``, ``parameters`` and ``execution``. Pure: the workflow and the activity share it."""
    if not needs_evaluation(entry, when):
        return entry
    text = entry["message"][when]["text"]
    raw_trigger = execution.get("trigger")
    trigger: JSON = raw_trigger if isinstance(raw_trigger, dict) else {}
    context = stage.get("context") if stage is not None else None
    root: JSON = dict(context) if isinstance(context, dict) else {}
    root.update(trigger=trigger, parameters=trigger.get("parameters") or {}, execution=execution)
    ctx = expr.EvaluationContext(root=root, execution=execution, timestamp_ms=timestamp_ms)
    evaluated = expr.process(text, ctx).value
    out = copy.deepcopy(entry)
    out["message"][when]["text"] = evaluated if isinstance(evaluated, str) else str(evaluated)
    return out
