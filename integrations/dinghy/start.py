"""Starting syncs: from a push webhook (GitHub, GitLab, Bitbucket; signature checked per source), from a poll
Schedule, or by hand. Each start is idempotent per source and commit (the workflow id, duplicates rejected)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.settings.dinghy import DinghySettings, GitRepoSettings
from integrations.triggers.errors import SignatureError
from integrations.triggers.git import verify_github_signature

from .sync import SyncRequest, sync_id

log = logging.getLogger(__name__)
SCHEDULE_PREFIX = "dinghy-poll-"


@dataclass
class Started:
    source: str
    workflow_id: str
    started: bool  # False: this commit's sync already exists (a redelivered push)
    branch: str = ""
    commit: str = ""


@dataclass
class PushOutcome:
    started: list[Started] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)


def task_queue(settings: Any) -> str:
    return str(settings.dinghy.task_queue or settings.task_queue)


async def start(client: Client, settings: Any, req: SyncRequest) -> Started:
    """Start ``DinghySync`` for the request; an existing workflow of that id (same commit) is left alone."""
    from .workflow import WORKFLOW_NAME

    wid = req.id or sync_id(req.source, req.commit)
    try:
        await client.start_workflow(
            WORKFLOW_NAME, SyncRequest(**{**req.__dict__, "id": wid}), id=wid, task_queue=task_queue(settings),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )  # fmt: skip
        return Started(req.source, wid, True, req.branch, req.commit)
    except WorkflowAlreadyStartedError:
        return Started(req.source, wid, False, req.branch, req.commit)


def _same_repo(repo: GitRepoSettings, provider: str, event: Any) -> bool:
    if repo.provider != provider and not (repo.provider == "stash" and provider == "bitbucket"):
        return False
    return (repo.project or "").lower() == (event.project or "").lower() and (repo.slug or "").lower() == (
        event.slug or ""
    ).lower()


def _signed(repo: GitRepoSettings, raw: bytes, headers: Mapping[str, str]) -> str | None:
    """None when the push may start a sync; else why not (a source with a secret needs a valid signature)."""
    if repo.webhook_secret is None:
        return None
    try:
        verify_github_signature(repo.webhook_secret.get_secret_value(), raw, headers)
    except SignatureError as err:
        return str(err)
    return None


async def on_push(client: Client, settings: Any, provider: str, event: Any, raw: bytes, headers: Mapping[str, str],
                  payload: Mapping[str, Any]) -> PushOutcome:  # fmt: skip
    """The syncs a git push starts: sources whose repository it is, and (a template-repo push on its branch) every
    source with dinghyfiles that use a changed module. ``event`` is the trigger module's ``GitEvent``."""
    dinghy: DinghySettings = settings.dinghy
    out = PushOutcome()
    if event is None or not event.hash or not event.branch or (event.action or "").startswith("pull_request"):
        return out
    if not event.hash.strip("0"):  # a deleted branch: nothing to render
        return out
    before = str(payload.get("before") or "") if isinstance(payload, Mapping) else ""
    for src in dinghy.sources:
        if not _same_repo(src, provider, event):
            continue
        refusal = _signed(src, raw, headers)
        if refusal:
            out.refused.append({"source": src.name, "reason": refusal})
            continue
        req = SyncRequest(src.name, event.hash, event.branch, before, "push", raw_data=dict(payload),
                          live=event.branch == src.branch)  # fmt: skip
        out.started.append(await start(client, settings, req))
    t = dinghy.templates
    if t is not None and _same_repo(t, provider, event) and event.branch == t.branch:
        refusal = _signed(t, raw, headers)
        if refusal:
            out.refused.append({"source": "templates", "reason": refusal})
            return out
        modules = _changed_paths(payload)
        for src in dinghy.sources:
            req = SyncRequest(src.name, "", src.branch, "", "modules", modules=modules,
                              id=f"dinghy-{src.name}-modules-{event.hash}")  # fmt: skip
            out.started.append(await start(client, settings, req))
    return out


def _changed_paths(payload: Mapping[str, Any]) -> list[str]:
    """Files the pushed commits added, modified or removed (GitHub/GitLab ``commits[]``)."""
    paths: set[str] = set()
    for commit in payload.get("commits") or []:
        if isinstance(commit, Mapping):
            for key in ("added", "modified", "removed"):
                paths.update(str(p) for p in commit.get(key) or [] if isinstance(p, str))
    return sorted(paths)


async def sync_poll_schedules(client: Client, settings: Any) -> dict[str, list[str]]:
    """One Schedule per source with ``poll_interval_s``; Schedules of sources no longer polled are deleted."""
    from integrations.schedules import delete_schedule, every, put_schedule, schedule_ids

    from .poll import POLL_WORKFLOW, PollInput

    prefix = f"{SCHEDULE_PREFIX}{task_queue(settings)}-"  # per installation: its task queue names it
    wanted = {f"{prefix}{s.name}": s for s in settings.dinghy.sources if s.poll_interval_s > 0}
    for sid, src in wanted.items():
        action = ScheduleActionStartWorkflow(
            POLL_WORKFLOW, PollInput(src.name), id=sid, task_queue=task_queue(settings),
            execution_timeout=timedelta(minutes=15),  # a poll stuck without a worker does not block later ones for ever
        )  # fmt: skip
        await put_schedule(client, sid, every(action, timedelta(seconds=src.poll_interval_s), note="dinghy poll"))
    stale = sorted((await schedule_ids(client, prefix)) - set(wanted))
    for sid in stale:
        await delete_schedule(client, sid)
    return {"polled": sorted(wanted), "deleted": stale}
