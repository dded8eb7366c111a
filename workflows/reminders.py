"""Judgment reminders (Orca's ``notifyEveryMs``) in a workflow of their own.

While a manual judgment waits, its stage workflow runs one ``JudgmentReminders`` child that sends
the judgment's ``manualJudgment`` notifications again every ``notifyEveryMs`` (each entry on its
own beat), and cancels it once the judgment is made. The child continues as new every
:data:`SENDS_PER_RUN` sends, so a one-minute reminder for three days never grows a history without
bound, and neither the stage's nor the pipeline's history grows with the reminders at all.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.notify import SendNotificationInput
    from integrations.notify.events import stage_entries
    from integrations.notify.render import ExecutionSummary, summarize

    from .execution import StageState
    from .notifications import RETRY, SEND_NOTIFICATION, reminder_interval

JSON = dict[str, Any]
SENDS_PER_RUN = 100


@dataclass
class ReminderInput:
    #: the judgment's ``manualJudgment`` entries that set ``notifyEveryMs``, their text evaluated
    entries: list[JSON]
    execution: ExecutionSummary
    #: when each entry is next due (epoch ms), by position; empty: one interval from now
    due_ms: list[int] = field(default_factory=list)


def reminder_input(stage: StageState, execution: JSON, evaluate: Callable[[str], str]) -> ReminderInput | None:
    """The reminders a judgment stage asks for, or None (no entry sets ``notifyEveryMs``)."""
    entries = [
        e
        for e in stage_entries(stage.context, "manualJudgment")
        if reminder_interval(e.get("notifyEveryMs")) is not None
    ]
    if not entries:
        return None
    return ReminderInput([_evaluated(e, evaluate) for e in entries], summarize(execution, stage.to_json()))


def _evaluated(entry: JSON, evaluate: Callable[[str], str]) -> JSON:
    message = entry.get("message")
    text = message.get("manualJudgment", {}).get("text") if isinstance(message, dict) else None
    if not isinstance(text, str) or "${" not in text:
        return entry
    out = copy.deepcopy(entry)
    try:
        out["message"]["manualJudgment"]["text"] = evaluate(text)
    except Exception as err:  # noqa: BLE001 - a reminder with its text unevaluated beats none
        workflow.logger.warning("reminder text could not be evaluated: %s", err)
    return out


@workflow.defn(name="JudgmentReminders")
class JudgmentReminders:
    """Sends a waiting judgment's notifications again and again, until its stage cancels it."""

    @workflow.run
    async def run(self, inp: ReminderInput) -> None:
        now = _now_ms()
        every = [reminder_interval(e.get("notifyEveryMs")) or timedelta(minutes=1) for e in inp.entries]
        due = list(inp.due_ms) or [now + int(e.total_seconds() * 1000) for e in every]
        for _ in range(SENDS_PER_RUN):
            i = min(range(len(due)), key=lambda k: due[k])
            delay = due[i] - _now_ms()
            if delay > 0:
                await workflow.sleep(timedelta(milliseconds=delay), summary="next judgment reminder")
            await self._send(inp, inp.entries[i])
            due[i] += int(every[i].total_seconds() * 1000)
        workflow.continue_as_new(ReminderInput(inp.entries, inp.execution, due))

    async def _send(self, inp: ReminderInput, entry: JSON) -> None:
        try:
            await workflow.execute_activity(
                SEND_NOTIFICATION,
                SendNotificationInput(notification=entry, when="manualJudgment", execution=inp.execution),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
                summary=f"{entry.get('type')} reminder: manualJudgment",
            )
        except ActivityError as err:  # a failed reminder is not worth failing the next one
            workflow.logger.warning("judgment reminder failed: %s", err.cause or err)


def _now_ms() -> int:
    return int(workflow.now().timestamp() * 1000)
