"""``DinghyPoll``: what a poll Schedule starts. It asks for the live branch's head and the last commit synced,
then starts ``DinghySync`` for the head as a child (same id as a push of that commit would use, so a commit is
synced once, however it was noticed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
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


class HeadActivity:
    def __init__(self, settings: object, store: object) -> None:
        from .activities import _settings

        self.settings, self.store = _settings(settings), store

    @activity.defn(name=HEAD)
    def head(self, req: PollInput) -> HeadResult:
        """The live branch's head (fetched now) and the commit of the source's last finished live sync."""
        from api.store.dinghy import DinghyStore

        from .gitrepo import Repo

        src = self.settings.source(req.source)
        if src is None:
            raise ValueError(f"source: no dinghy source named {req.source!r}")
        repo = Repo(src.url, self.settings.cache_dir)
        repo.sync()
        last = next(
            (s["commit"] for s in DinghyStore(self.store).list_syncs(src.name, 200)
             if s.get("mode") == "live" and s.get("state") in ("succeeded", "skipped")),
            "",
        )  # fmt: skip
        return HeadResult(repo.head(src.branch) or "", src.branch, last)
