"""After a SIGKILLed worker: what the server does once the heartbeat timeout of each activity attempt the dead worker
had started runs out, done at once by the test -- the attempt fails and Temporal retries it by the activity's retry
policy, with the attempt's last heartbeat details. Kill tests use it where the retry, not the timeout, is what they
prove (one kill in each such test still waits the timeout out, or another test does, so the heartbeat stays proven)."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.exceptions import ApplicationError


async def _heartbeat_timeout(client: Any, wf: Any, activity_id: str) -> float:
    """The heartbeat timeout (seconds) the workflow scheduled activity ``activity_id`` with."""
    found = 0.0
    async for event in client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            scheduled = event.activity_task_scheduled_event_attributes
            if scheduled.activity_id == activity_id:
                found = scheduled.heartbeat_timeout.ToTimedelta().total_seconds()
    return found


async def fail_attempts_of(client: Any, pid: int, task_queue: str | None = None) -> int:
    """Fail the running activity attempts the killed worker process ``pid`` had started (in the workflows of
    ``task_queue``, or all running ones), each after checking it was scheduled with a heartbeat timeout (the server
    would fail it the same way within that time); returns how many there were."""
    failed = 0
    query = 'ExecutionStatus="Running"' + (f' AND TaskQueue="{task_queue}"' if task_queue else "")
    async for wf in client.list_workflows(query):
        described = await client.get_workflow_handle(wf.id, run_id=wf.run_id).describe()
        for pending in described.raw_description.pending_activities:
            if pending.state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                continue
            if pending.last_worker_identity.split("@")[0] != str(pid):
                continue
            assert await _heartbeat_timeout(client, wf, pending.activity_id) > 0, (
                f"{pending.activity_type.name} has no heartbeat timeout: nothing would notice the dead worker"
            )
            details = await client.data_converter.decode(pending.heartbeat_details.payloads)
            handle = client.get_async_activity_handle(
                workflow_id=wf.id, run_id=wf.run_id, activity_id=pending.activity_id
            )
            await handle.fail(
                ApplicationError(f"worker {pid} was killed (its heartbeat timeout, early)"),
                last_heartbeat_details=details,
            )
            failed += 1
    return failed
