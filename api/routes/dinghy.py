"""Dinghy's routes (sources, syncs, a manual sync, a render check) and the plan behind ``gennaker apply``.

Syncs start from push webhooks (``/webhooks/git/{provider}``, see ``on_git_webhook``), poll Schedules or
``POST /dinghy/sources/{name}/sync``; each is a ``DinghySync`` workflow whose result is read here.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from temporalio.common import WorkflowIDReusePolicy

from ..auth.enforce import READ, Guard, GuardDep, forbidden
from ..deps import ClientDep, SettingsDep, StoreDep
from ..errors import ApiError, ErrorBody, bad_request
from ..models.base import document
from ..models.dinghy import ApplyPlan, ApplyRequest, DinghySource, DinghySync, Rendered, RenderRequest, SyncStarted

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.settings import Settings

router = APIRouter(tags=["dinghy"])
Json = dict[str, Any]


def _authenticated(guard: Guard) -> None:
    if guard.enabled and guard.principal.is_anonymous:
        raise forbidden("Access denied: anonymous may not read dinghy sources or syncs")


def _admin(guard: Guard) -> None:
    if guard.enabled and not guard.principal.admin:
        raise forbidden("Access denied: you may not start a dinghy sync by hand (admin permission needed)")


@router.get("/dinghy/sources", response_model=list[DinghySource])
async def sources(settings: SettingsDep, guard: GuardDep) -> list[Json]:
    """The configured sources (never their secrets)."""
    from integrations.dinghy.gitrepo import redact

    _authenticated(guard)
    return [
        {
            "name": s.name, "url": redact(s.url), "branch": s.branch, "provider": s.provider, "project": s.project,
            "slug": s.slug, "dinghyfile": s.dinghyfile, "format": s.format, "pollIntervalSeconds": s.poll_interval_s,
            "lockPipelines": s.lock_pipelines, "signed": s.webhook_secret is not None,
        }
        for s in settings.dinghy.sources
    ]  # fmt: skip


@router.get("/dinghy/syncs", response_model=list[DinghySync], response_model_exclude_unset=True)
async def syncs(
    store: StoreDep, guard: GuardDep, source: str | None = None, limit: int = Query(50, ge=1, le=500)
) -> list[Json]:
    """Syncs, newest first: state, mode (live/validate), files with their errors, what was written."""

    _authenticated(guard)
    return await asyncio.to_thread(store.dinghy.list_syncs, source, limit)


@router.get("/dinghy/syncs/{sync_id}", response_model=DinghySync, response_model_exclude_unset=True)
async def sync(sync_id: str, store: StoreDep, guard: GuardDep) -> Json:

    _authenticated(guard)
    found = await asyncio.to_thread(store.dinghy.get_sync, sync_id)
    if found is None:
        raise ApiError(404, f"no dinghy sync {sync_id}")
    return found


@router.post("/dinghy/sources/{name}/sync", response_model=SyncStarted)
async def sync_now(name: str, client: ClientDep, settings: SettingsDep, guard: GuardDep) -> Json:
    """Sync the source's live branch head now (what a poll does); idempotent for a commit already synced."""
    from integrations.dinghy.poll import PollInput, PollResult

    _admin(guard)
    if settings.dinghy.source(name) is None:
        raise ApiError(404, f"no dinghy source named {name}", field="name")
    handle = await client.start_workflow(
        "DinghyPoll", PollInput(name), id=f"dinghy-poll-now-{name}", task_queue=_queue(settings),
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        result_type=PollResult,
    )  # fmt: skip
    result = await handle.result()
    return {"source": name, "commit": result.commit, "started": result.started,
            "syncId": f"dinghy-{name}-{result.commit}" if result.commit else None}  # fmt: skip


def _queue(settings: Settings) -> str:
    from integrations.dinghy.start import task_queue

    return task_queue(settings)


@router.post(
    "/dinghy/render",
    response_model=Rendered,
    # a dinghyfile that does not render is a 422 in Gate's body, with file, line and column (FastAPI's own 422
    # is dropped from the document, api/errors.py; the range keeps this one declared)
    responses={"4XX": {"model": ErrorBody, "description": "The dinghyfile does not render (422)"}},
)
async def render_check(guard: GuardDep, request: Annotated[RenderRequest, Body()]) -> Json:
    """Render a dinghyfile given in the body (``{dinghyfile, modules: {path: text}, localModules, format}``), as a
    PR check or the ``arm`` CLI would: the document, or the error with file, line and column. Writes nothing."""
    from integrations.dinghy.gotemplate import DinghyTemplateError
    from integrations.dinghy.render import Context, render

    _authenticated(guard)
    body = document(request)
    if not isinstance(body, dict) or not isinstance(body.get("dinghyfile"), str):
        raise bad_request("dinghyfile: required (the file's text)", field="dinghyfile")
    modules = body.get("modules") or {}
    local = body.get("localModules") or {}
    if not isinstance(modules, dict) or not isinstance(local, dict):
        raise bad_request("modules: must be an object of path to text", field="modules")
    fmt = body.get("format") or "json"
    if fmt not in ("json", "yaml"):
        raise bad_request("format: json or yaml", field="format")
    ctx = Context(load_module=modules.get, load_local=local.get, dot={"RawData": body.get("rawData") or {}},
                  pipeline_id=lambda app, name: f"{app}/{name}", format=fmt)  # fmt: skip
    try:
        rendered = await asyncio.to_thread(render, str(body.get("path") or "dinghyfile"), body["dinghyfile"], ctx)
    except DinghyTemplateError as err:
        raise ApiError(422, err.text(), field="dinghyfile", file=err.file, line=err.line, column=err.column) from None
    return {"document": rendered.document, "modules": rendered.modules, "localModules": rendered.local_modules}


@router.post("/apply/plan", response_model=ApplyPlan)
async def apply_plan(
    store: StoreDep, guard: GuardDep, request: Annotated[ApplyRequest, Body()], prune: bool = False
) -> Json:
    """``gennaker apply``'s plan for CI: ``{pipelines: [...]}`` against what is stored (READ on each application);
    ``changed`` false when nothing would change."""
    from gennaker.apply import ApplyError, compute_plan, normalise

    body = document(request)
    pipelines = body.get("pipelines") if isinstance(body, dict) else None
    if not isinstance(pipelines, list):
        raise bad_request("pipelines: required (a list of pipeline configs)", field="pipelines")
    try:
        desired = [normalise(p, f"pipelines[{i}]") for i, p in enumerate(pipelines)]
    except ApplyError as err:
        raise bad_request(str(err), field="pipelines") from None
    apps = sorted({p["application"].lower() for p in desired})
    for app in apps:
        await guard.app(app, READ)
    stored = [p for app in apps for p in await asyncio.to_thread(store.pipelines.all, app)]
    plan = compute_plan(desired, stored, prune=prune)
    return plan.to_json()


async def on_git_webhook(provider: str, request: Request, client: Client, settings: Settings, answer: Json) -> Json:
    """Called by ``/webhooks/git/{provider}`` after the trigger matching: the Dinghy syncs this push starts."""
    from integrations.dinghy.start import on_push
    from integrations.triggers.errors import TriggerError
    from integrations.triggers.events import lower_headers, parse_body, parse_git_event

    if not settings.dinghy.sources:
        return answer
    raw = await request.body()
    headers = lower_headers(dict(request.headers))
    try:
        payload = parse_body(raw, allow_empty=True)
        event = parse_git_event(provider, payload, headers)
    except TriggerError:
        return answer
    outcome = await on_push(client, settings, provider, event, raw, headers, payload)
    if outcome.started or outcome.refused:
        answer = {
            **answer,
            "dinghy": {
                "syncs": [s.__dict__ for s in outcome.started],
                "refused": outcome.refused,
            },
        }
    return answer
