"""The sync workflow's activities: render and apply (``sync``), the commit status, the record and audit event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import activity

from core.settings.dinghy import DinghySettings

from .poll import HEAD, HeadResult, PollInput
from .status import post_status
from .sync import Syncer, SyncRequest, SyncResult

SYNC = "dinghy_sync"
STATUS = "dinghy_commit_status"
RECORD = "dinghy_record_sync"
SCHEDULES = "dinghy_cron_schedules"
log = logging.getLogger(__name__)


@dataclass
class StatusInput:
    source: str
    commit: str
    state: str  # pending | success | failure | error
    description: str


@dataclass
class StatusResult:
    http_status: int


@dataclass
class RecordInput:
    result: dict[str, Any]
    started_at: int
    finished_at: int | None


@dataclass
class RecordResult:
    id: str


@dataclass
class SchedulesInput:
    pipeline_ids: list[str]


@dataclass
class SchedulesResult:
    synced: int


def _settings(settings: Any) -> DinghySettings:
    value = getattr(settings, "dinghy", None)
    if isinstance(value, dict):
        return DinghySettings.model_validate(value)
    return value if isinstance(value, DinghySettings) else DinghySettings()


class DinghyActivities:
    def __init__(self, settings: Any, store: Any, client: Any = None) -> None:
        self.settings, self.store = _settings(settings), store
        self.all_settings, self.client = settings, client

    @activity.defn(name=SYNC)
    def sync(self, req: SyncRequest) -> SyncResult:
        """Render the push's dinghyfiles and, on the live branch, write them (one transaction)."""
        return Syncer(self.settings, self.store).run(req)

    @activity.defn(name=STATUS)
    def commit_status(self, req: StatusInput) -> StatusResult:
        """The push's one commit status (GitHub's REST shape); nothing when the source has no status API."""
        src = self.settings.source(req.source)
        return StatusResult(post_status(src, req.commit, req.state, req.description) if src else 0)

    @activity.defn(name=RECORD)
    def record(self, req: RecordInput) -> RecordResult:
        """``GET /dinghy/syncs`` reads this; a finished sync is also an audit event."""

        doc = {**req.result, "startedAt": req.started_at, "finishedAt": req.finished_at}
        self.store.dinghy.record_sync(doc)
        if req.finished_at is not None:
            summary = doc.get("summary") or {}
            detail = (
                "; ".join(f"{k}={','.join(v)}" for k, v in summary.items() if isinstance(v, list) and v)
                or "; ".join(doc.get("errors") or [])
                or doc.get("message")
                or ""
            )
            self.store.audit.record({
                "principal": "dinghy", "via": "dinghy", "action": "dinghy.sync", "resourceType": "dinghy_source",
                "resourceName": doc.get("source"), "executionId": doc.get("id"),
                "outcome": "success" if doc.get("state") != "failed" else "failure",
                "detail": f"{doc.get('mode')} {doc.get('branch')}@{str(doc.get('commit'))[:12]} "
                          f"{doc.get('state')}: {detail}"[:2000],
            })  # fmt: skip
        return RecordResult(str(doc.get("id")))

    @activity.defn(name=SCHEDULES)
    async def cron_schedules(self, req: SchedulesInput) -> SchedulesResult:
        """The cron Schedules of the pipelines a sync wrote or deleted follow them, as an API save does."""
        from integrations.triggers.schedules import store_loader, sync_pipeline

        if self.client is None:
            return SchedulesResult(0)
        for pid in req.pipeline_ids:
            await sync_pipeline(self.client, self.all_settings, {"id": pid}, store_loader(self.store))
        return SchedulesResult(len(req.pipeline_ids))


class HeadActivity:
    def __init__(self, settings: object, store: Any) -> None:
        self.settings, self.store = _settings(settings), store

    @activity.defn(name=HEAD)
    def head(self, req: PollInput) -> HeadResult:
        """The live branch's head (fetched now) and the commit of the source's last finished live sync."""

        from .gitrepo import Repo

        src = self.settings.source(req.source)
        if src is None:
            raise ValueError(f"source: no dinghy source named {req.source!r}")
        repo = Repo(src.url, self.settings.cache_dir)
        repo.sync()
        last = next(
            (s["commit"] for s in self.store.dinghy.list_syncs(src.name, 200)
             if s.get("mode") == "live" and s.get("state") in ("succeeded", "skipped")),
            "",
        )  # fmt: skip
        return HeadResult(repo.head(src.branch) or "", src.branch, last)


def build(settings: Any, store: Any, client: Any = None) -> list[Callable[..., Any]]:
    acts = DinghyActivities(settings, store, client)
    return [acts.sync, acts.commit_status, acts.record, acts.cron_schedules, HeadActivity(settings, store).head]
