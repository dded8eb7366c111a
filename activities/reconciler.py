"""The reconciler's activity, and the one-execution reconcile that cancel and DELETE also run on the spot.

An execution is a zombie when the store shows it unfinished while its workflow is closed or gone: Temporal
terminated it (history limits, an operator's ``temporal workflow terminate``), it timed out, it failed without
recording, or retention removed it. Orca would show such an execution TERMINAL (CANCELED when canceled), with the
reason: it is recorded so (a version above every earlier write), its running stages and tasks closed the same
way, and the downstream ``pipeline`` triggers run once (the same claim as the engine's final record).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from core.errors import temporal_not_found
from core.messages.reconciler import ReconcileInput, ReconcileResult

from .engine import FINISHED, finish_once, store_call

log = logging.getLogger(__name__)
OnFinished = Callable[[dict[str, Any]], Awaitable[Any]] | None
ACTIVE = {"RUNNING", "PAUSED", "SUSPENDED", "BUFFERED"}  # stage and task statuses a closed workflow leaves open


async def closed_status(client: Client, execution_id: str) -> tuple[str, str, int | None] | None:
    """``(status to record, reason, close time ms)`` when the execution's workflow is closed or gone; None while
    it runs (or Temporal cannot say now)."""
    handle = client.get_workflow_handle(execution_id)
    try:
        description = await handle.describe()
    except RPCError as err:
        if temporal_not_found(err):
            return "TERMINAL", "the execution's workflow is gone from Temporal without a final record", None
        log.warning("reconciler: cannot describe %s: %s", execution_id, err)
        return None
    status = description.status
    if status in (None, WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        return None
    closed = int(description.close_time.timestamp() * 1000) if description.close_time else None
    detail = await _last_event_detail(client, execution_id)
    if status == WorkflowExecutionStatus.CANCELED:
        return "CANCELED", detail or "the execution's workflow was canceled", closed
    if status == WorkflowExecutionStatus.TERMINATED:
        return "TERMINAL", f"the execution's workflow was terminated: {detail or 'no reason given'}", closed
    if status == WorkflowExecutionStatus.TIMED_OUT:
        return "TERMINAL", "the execution's workflow timed out", closed
    if status == WorkflowExecutionStatus.FAILED:
        return "TERMINAL", f"the execution's workflow failed: {detail or 'no message'}", closed
    return "TERMINAL", "the execution's workflow completed without recording its final status", closed


async def _last_event_detail(client: Client, workflow_id: str) -> str:
    """The reason or message of a closed workflow's last event (one event read, newest first)."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest

    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id), maximum_page_size=1
    )
    try:
        response = await client.workflow_service.get_workflow_execution_history_reverse(request)
    except RPCError:
        return ""
    for event in response.history.events:
        if event.HasField("workflow_execution_terminated_event_attributes"):
            return str(event.workflow_execution_terminated_event_attributes.reason)
        if event.HasField("workflow_execution_failed_event_attributes"):
            return str(event.workflow_execution_failed_event_attributes.failure.message)
        if event.HasField("workflow_execution_canceled_event_attributes"):
            return ""
    return ""


def final_update(execution: dict[str, Any], version: int, status: str, reason: str, closed: int | None) -> dict:
    """The store write that finishes a zombie as Orca would show it."""
    now = int(time.time() * 1000)
    end = closed or now
    exception = {
        "details": {"error": reason, "errors": [reason]},
        "exceptionType": "WorkflowClosed",
        "shouldRetry": False,
        "timestamp": end,
    }
    stages = []
    for seq, stage in enumerate(execution.get("stages") or []):
        if stage.get("status") not in ACTIVE or not stage.get("id"):
            continue
        tasks = [
            {**t, "status": status, "endTime": t.get("endTime") or end} if t.get("status") in ACTIVE else t
            for t in stage.get("tasks") or []
        ]
        changed = {**stage, "status": status, "endTime": stage.get("endTime") or end, "tasks": tasks}
        if status == "TERMINAL":
            changed["context"] = {**(stage.get("context") or {}), "exception": exception}
        stages.append({"seq": seq, "stage": changed})
    notification = {"createdAt": now, "group": "reconciler", "message": reason, "closed": False}
    header: dict[str, Any] = {
        "status": status,
        "endTime": execution.get("endTime") or end,
        "systemNotifications": [*(execution.get("systemNotifications") or []), notification],
    }
    if status == "CANCELED":
        header.update(canceled=True, cancellationReason=execution.get("cancellationReason") or reason)
    return {"id": execution["id"], "version": version, "execution": header, "stages": stages}


async def reconcile_one(client: Client, store: Any, execution_id: str, on_finished: OnFinished) -> str | None:
    """Record the final status of one execution whose workflow is closed or gone; returns the status recorded
    (None when the store shows it finished already, or its workflow still runs). Then its downstream triggers
    run once."""
    header = await store_call(store.executions.header, execution_id)
    if header is None or header["status"] in FINISHED:
        return None
    closed = await closed_status(client, execution_id)
    if closed is None:
        return None
    status, reason, close_time = closed
    execution = await store_call(store.executions.get, execution_id)
    header = await store_call(store.executions.header, execution_id)  # read again: the freshest version
    if header is None or header["status"] in FINISHED:
        return None
    version = max(time.time_ns() // 1000, int(header["version"]) + 1)
    await store_call(store.executions.apply_update, final_update(execution, version, status, reason, close_time))
    log.warning("reconciler: execution %s recorded %s (%s)", execution_id, status, reason)
    await finish_once(store, execution_id, on_finished)
    return status


class ReconcilerActivities:
    def __init__(
        self, client: Client, store: Any, on_finished: OnFinished = None, events_retention_days: float = 0
    ) -> None:
        self.client = client
        self.store = store
        self.on_finished = on_finished
        #: Echo's outbox keeps events this long (``events.retention_days``; 0: forever). The delivery workflows
        #: trim it too, but an installation without REST listeners has none, and the outbox grows with every
        #: transition: the reconciler, which always runs with a store, trims it as well.
        self.events_retention_days = events_retention_days

    @activity.defn(name="reconcile_executions")
    async def reconcile_executions(self, inp: ReconcileInput) -> ReconcileResult:
        """Every unfinished execution older than the grace period: finished in the store if its workflow is not
        running. A page at a time, oldest first."""
        result = ReconcileResult()
        await self.trim_events()
        before = int(time.time() * 1000 - inp.grace_s * 1000)
        after: tuple[int, str] | None = None
        while True:
            page = await store_call(self._page, before, after, inp.page)
            for row in page:
                result.checked += 1
                status = await reconcile_one(self.client, self.store, row["id"], self.on_finished)
                if status is not None:
                    result.reconciled[row["id"]] = status
                activity.heartbeat(result.checked)
            if len(page) < inp.page:
                return result
            after = (page[-1]["buildTime"], page[-1]["id"])

    async def trim_events(self) -> int:
        """Drop Echo events older than the retention from the outbox; how many went."""
        if self.events_retention_days <= 0:
            return 0
        keep_after = int((time.time() - self.events_retention_days * 86_400) * 1000)
        return int(await store_call(lambda: self.store.events.purge(older_than_ms=keep_after)))

    def _page(self, before: int, after: tuple[int, str] | None, size: int) -> list[dict[str, Any]]:
        return self.store.executions.unfinished(built_before_ms=before, after=after, limit=size)  # type: ignore[no-any-return]


async def put_reconciler_schedule(client: Client, settings: Any) -> str | None:
    """Create or update the reconciler's Schedule (one per namespace, shared by every worker); returns its id,
    or None when the settings turn it off (then an existing one is deleted)."""
    from datetime import timedelta

    from temporalio.client import ScheduleActionStartWorkflow

    from core.messages.reconciler import SCHEDULE_ID, WORKFLOW_TYPE
    from integrations.schedules import delete_schedule, every, put_schedule

    config = settings.reconciler
    if not config.enabled:
        await delete_schedule(client, SCHEDULE_ID)
        return None
    action = ScheduleActionStartWorkflow(
        WORKFLOW_TYPE,
        ReconcileInput(grace_s=config.grace_s),
        id=SCHEDULE_ID,
        task_queue=settings.task_queue,
        # a run no worker picks up (its task queue's workers are gone) must not hold every later run back: the
        # Schedule skips while one runs, so a stuck run ends after three intervals and the next tick starts afresh
        execution_timeout=timedelta(seconds=max(30, 3 * config.interval_s)),
    )
    note = "finishes executions whose workflow closed without a final record"
    await put_schedule(client, SCHEDULE_ID, every(action, timedelta(seconds=config.interval_s), note=note))
    return SCHEDULE_ID
