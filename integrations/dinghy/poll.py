"""``DinghyPoll``: what a poll Schedule starts. It asks for the live branch's head and the last commit synced,
then starts ``DinghySync`` for the head as a child (same id as a push of that commit would use, so a commit is
synced once, however it was noticed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from .sync import SyncRequest, SyncResult, sync_id

POLL_WORKFLOW = "DinghyPoll"
HEAD = "dinghy_head"


@dataclass
class PollInput:
    source: str


@dataclass
class HeadResult:
    commit: str
    branch: str
    last_synced: str


@dataclass
class PollResult:
    commit: str
    started: bool


@workflow.defn(name=POLL_WORKFLOW)
class DinghyPollWorkflow:
    @workflow.run
    async def run(self, req: PollInput) -> PollResult:
        head: HeadResult = await workflow.execute_activity(
            HEAD, req, result_type=HeadResult, start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )  # fmt: skip
        if not head.commit or head.commit == head.last_synced:
            return PollResult(head.commit, False)
        wid = sync_id(req.source, head.commit)
        sync = SyncRequest(req.source, head.commit, head.branch, head.last_synced, "poll", id=wid)
        try:
            await workflow.execute_child_workflow(
                "DinghySync", sync, id=wid, result_type=SyncResult,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )  # fmt: skip
        except WorkflowAlreadyStartedError:
            return PollResult(head.commit, False)
        return PollResult(head.commit, True)
