"""``DinghySync``: one sync of a source at a commit as a Temporal workflow (id ``dinghy-<source>-<sha>``, so a
redelivered push or a second poll of the same commit starts nothing new). Steps: record it as running, set the
commit status to pending, render and apply (one activity, one store transaction), set the final status, record
the result and an audit event. No I/O here: everything is an activity.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from .activities import RECORD, SCHEDULES, STATUS, SYNC, RecordInput, SchedulesInput, StatusInput
    from .sync import SyncRequest, SyncResult

WORKFLOW_NAME = "DinghySync"
_SMALL = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=1))
_SYNC = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2), non_retryable_error_types=["ValueError"])


def _message(err: BaseException) -> str:
    cause = err.cause if isinstance(err, ActivityError) else err
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)


@workflow.defn(name=WORKFLOW_NAME)
class DinghySyncWorkflow:
    @workflow.run
    async def run(self, req: SyncRequest) -> SyncResult:
        started = int(workflow.now().timestamp() * 1000)
        wid = workflow.info().workflow_id
        running = SyncResult(wid, req.source, req.commit, req.branch, "", "running")
        await self._record(running, started, None)
        pending = "Updating pipeline definitions..." if req.live else "Validating pipeline definitions..."
        await self._status(req, "pending", pending)
        try:
            result: SyncResult = await workflow.execute_activity(
                SYNC, dataclasses.replace(req, id=wid), result_type=SyncResult,
                start_to_close_timeout=timedelta(minutes=10), retry_policy=_SYNC,
            )  # fmt: skip
        except ActivityError as err:
            result = SyncResult(wid, req.source, req.commit, req.branch, "", "failed", errors=[_message(err)])
            result.message = _message(err)
        changed = list((result.summary or {}).get("changedIds") or [])
        if changed:
            await workflow.execute_activity(
                SCHEDULES, SchedulesInput(changed), start_to_close_timeout=timedelta(minutes=5), retry_policy=_SMALL
            )
        if result.state == "failed":
            state = "failure" if result.malformed else "error"
            await self._status(req, state, result.message or "Pipeline definitions failed", result.commit)
        else:
            await self._status(req, "success", result.message or "Pipeline definitions updated!", result.commit)
        await self._record(result, started, int(workflow.now().timestamp() * 1000))
        return result

    async def _status(self, req: SyncRequest, state: str, text: str, commit: str = "") -> None:
        if not (commit or req.commit) or req.kind == "modules":  # a module re-render has no push of its own to mark
            return
        await workflow.execute_activity(
            STATUS, StatusInput(req.source, commit or req.commit, state, text),
            start_to_close_timeout=timedelta(seconds=30), retry_policy=_SMALL,
        )  # fmt: skip

    async def _record(self, result: SyncResult, started: int, finished: int | None) -> None:
        await workflow.execute_activity(
            RECORD, RecordInput(result.to_json(), started, finished),
            start_to_close_timeout=timedelta(seconds=30), retry_policy=_SMALL,
        )  # fmt: skip
