"""The ``webhook`` stage: call a URL, then optionally poll a status URL until it says done.

Tasks, as Orca's ``WebhookStage`` plans them: ``createWebhook`` (skipped when ``monitorOnly``),
``waitBeforeMonitorWebhook`` (when ``waitForCompletion`` and ``waitBeforeMonitor`` > 0 seconds) and
``monitorWebhook`` (when ``waitForCompletion``; polls every second, every 15 s after the first
minute, for at most an hour). The HTTP work lives in ``activities/webhook.py``; this module is
pure so it can run inside the workflow sandbox.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.fields import seconds, truthy
from core.status import ExecutionStatus
from core.tasks import CANCEL_WEBHOOK, CREATE_WEBHOOK, MONITOR_WEBHOOK, cancel_configured

from .base import JSON, StageDefinition, TaskResult, TaskRuntime, TaskSpec

_ORCA = "com.netflix.spinnaker.orca"
CREATE_TASK_CLASS = f"{_ORCA}.webhook.tasks.CreateWebhookTask"
MONITOR_TASK_CLASS = f"{_ORCA}.webhook.tasks.MonitorWebhookTask"
WAIT_TASK_CLASS = f"{_ORCA}.pipeline.tasks.WaitTask"

#: Orca's CreateWebhookTask: retried for up to 5 minutes (10 s apart, see activities/webhook.py).
CREATE_TIMEOUT = timedelta(minutes=5)
#: Orca's MonitorWebhookTask: 1 s backoff (15 s after the first minute), 1 h timeout.
MONITOR_BACKOFF = timedelta(seconds=1)
MONITOR_TIMEOUT = timedelta(hours=1)
#: one HTTP call per activity attempt: connect (15 s) + read (20 s) timeouts fit well inside this.
CALL_TIMEOUT = timedelta(minutes=1)

MONITOR_ONLY_WITHOUT_WAIT = "Can't specify monitorOnly = true and waitForCompletion = false at the same time"


async def _refuse_monitor_only(runtime: TaskRuntime) -> TaskResult:
    return TaskResult.terminal(MONITOR_ONLY_WITHOUT_WAIT)


async def _wait_before_monitor(runtime: TaskRuntime) -> TaskResult:
    wait = seconds(runtime.context.get("waitBeforeMonitor"))
    if wait > 0:
        await runtime.wait_for(lambda: False, timedelta(seconds=wait), f"wait {wait:g}s before monitoring webhook")
    return TaskResult(ExecutionStatus.SUCCEEDED)


class WebhookStage(StageDefinition):
    """Orca's ``WebhookStage``: ``createWebhook`` → (``waitBeforeMonitorWebhook``) → ``monitorWebhook``."""

    type = "webhook"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        monitor_only = truthy(context.get("monitorOnly"))
        wait = truthy(context.get("waitForCompletion"))
        if monitor_only and not wait:
            # Orca refuses to plan this stage (a UserException); we fail its only task instead.
            return [TaskSpec("createWebhook", CREATE_TASK_CLASS, run=_refuse_monitor_only)]

        on_cancel = CANCEL_WEBHOOK if cancel_configured(context) else None
        specs: list[TaskSpec] = []
        if not monitor_only:
            specs.append(
                TaskSpec(
                    "createWebhook",
                    CREATE_TASK_CLASS,
                    activity=CREATE_WEBHOOK,
                    timeout=CREATE_TIMEOUT,
                    start_to_close=CALL_TIMEOUT,
                    on_cancel=on_cancel,
                )
            )
        if wait:
            if _plans_wait(context.get("waitBeforeMonitor")):
                specs.append(
                    TaskSpec("waitBeforeMonitorWebhook", WAIT_TASK_CLASS, run=_wait_before_monitor, on_cancel=on_cancel)
                )
            specs.append(
                TaskSpec(
                    "monitorWebhook",
                    MONITOR_TASK_CLASS,
                    activity=MONITOR_WEBHOOK,
                    polling=True,
                    backoff=MONITOR_BACKOFF,
                    timeout=MONITOR_TIMEOUT,
                    overridable_timeout=True,
                    start_to_close=CALL_TIMEOUT,
                    on_cancel=on_cancel,
                )
            )
        return specs


def _plans_wait(value: Any) -> bool:
    """A positive number plans the wait; so does text that is not a number yet (an unevaluated
    expression), which the task itself reads again when it runs."""
    if isinstance(value, str) and value.strip():
        try:
            float(value.strip())
        except ValueError:
            return True
    return seconds(value) > 0
