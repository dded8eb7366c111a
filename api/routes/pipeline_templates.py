"""Managed pipeline templates v2: Gate's and Front50's ``/v2/pipelineTemplates`` routes, and ``plan``.

Saving is synchronous (no Orca task to poll): create and update answer with the stored template and its
``digest``. Templates are global, as in Spinnaker; changing or deleting one needs an authenticated caller
with WRITE on every application whose pipelines use it (Gate checks nothing here).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Query

from ..auth.enforce import READ, WRITE, Guard, GuardDep, forbidden
from ..deps import ClientDep, SettingsDep, StoreDep
from ..errors import ApiError, bad_request
from ..models.base import document
from ..models.pipelines import PipelineConfig
from ..models.templates import Dependent, PipelineTemplate, SavedTemplate, TemplateDeleted

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.settings import Settings
    from core.store import Store
    from templates.stored import TemplateStore

router = APIRouter(tags=["pipeline templates"])
log = logging.getLogger(__name__)
Json = dict[str, Any]
BASE = "/v2/pipelineTemplates"


def _templates(store: Store) -> TemplateStore:
    from templates.stored import TemplateStore

    return TemplateStore(store)


def _scopes(scopes: list[str] | None) -> list[str]:
    """``?scopes=a,b`` or ``?scopes=a&scopes=b``, as Spring binds a list."""
    return [s for item in scopes or [] for s in item.split(",") if s.strip()]


async def _may_change(guard: Guard, store: Store, template_id: str) -> None:
    """An authenticated caller with WRITE on the applications of every pipeline that uses the template."""
    if not guard.enabled:
        return
    if guard.principal.is_anonymous:
        raise forbidden("Access denied: anonymous may not change pipeline templates")
    users = await asyncio.to_thread(_templates(store).dependents, template_id)
    for app in sorted({str(p.get("application")) for p in users}):
        await guard.app(app, WRITE)


async def _resync(client: Client, settings: Settings, store: Store, template_id: str) -> None:
    """The cron Schedules of the template's dependents follow its (inherited) cron triggers."""
    from integrations.triggers import schedules

    for pipeline in await asyncio.to_thread(_templates(store).dependents, template_id):
        try:
            await schedules.sync_pipeline(client, settings, pipeline, schedules.store_loader(store))
        except Exception as err:  # noqa: BLE001 - logged; reconciled at start-up
            log.warning("pipeline %s: could not sync its cron schedules: %s", pipeline.get("id"), err)


def _template_body(body: Any) -> Json:
    if not isinstance(body, dict):
        raise bad_request("the body must be a pipeline template (a JSON object)", field="pipelineTemplate")
    if body.get("schema") not in (None, "v2"):  # Gate's validateSchema
        raise bad_request(f"Invalid schema version: {body.get('schema')}", field="schema")
    return body


async def _save(
    store: Store,
    client: Client,
    settings: Settings,
    guard: Guard,
    background: BackgroundTasks,
    body: Any,
    tag: str | None,
    update_id: str | None,
) -> Json:
    template = _template_body(body)
    ident = update_id or template.get("id")
    if isinstance(ident, str) and ident:
        await _may_change(guard, store, ident)
    elif guard.enabled and guard.principal.is_anonymous:
        raise forbidden("Access denied: anonymous may not change pipeline templates")
    saved: Json = await asyncio.to_thread(
        _templates(store).save, template, guard.principal.name, tag=tag or None, update_id=update_id
    )
    background.add_task(_resync, client, settings, store, saved["id"])
    return saved


@router.get(BASE, response_model=list[PipelineTemplate], response_model_exclude_unset=True)
async def list_templates(store: StoreDep, scopes: list[str] | None = Query(None)) -> list[Json]:
    """Every stored version (``id``, ``id:tag``, ``id@sha256:...``), of the given scopes when any."""
    out: list[Json] = await asyncio.to_thread(_templates(store).list_all, _scopes(scopes))
    return out


@router.get(f"{BASE}/versions", response_model=dict[str, list[PipelineTemplate]], response_model_exclude_unset=True)
async def versions(store: StoreDep, scopes: list[str] | None = Query(None)) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = await asyncio.to_thread(_templates(store).versions, _scopes(scopes))
    return out


@router.post(f"{BASE}/plan", response_model=PipelineConfig, response_model_exclude_unset=True)
async def plan(store: StoreDep, guard: GuardDep, body: Annotated[PipelineConfig, Body()]) -> Json:
    """Orca's plan: the pipeline a templated config renders to, without running it (400 with ``errors``)."""
    from templates import TemplateError, is_templated

    config = document(body)
    if not isinstance(config, dict):
        raise bad_request("the body must be a templated pipeline config (a JSON object)")
    if config.get("schema") != "v2":
        raise bad_request("schema: a templated pipeline config has schema 'v2'", field="schema")
    if not config.get("application"):
        raise bad_request("application is required", field="application")
    await guard.app(str(config["application"]), READ)
    doc = {**config, "type": "templatedPipeline"} if not is_templated(config) else config
    trigger = config.get("trigger") if isinstance(config.get("trigger"), dict) else {}
    try:
        rendered: Json = await asyncio.to_thread(_templates(store).render, doc, trigger=trigger, plan=True)
    except TemplateError as err:
        raise ApiError(400, err.message, field=err.field, errors=err.errors) from None
    return rendered


@router.post(f"{BASE}/create", response_model=SavedTemplate, response_model_exclude_unset=True)
async def create(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    guard: GuardDep,
    background: BackgroundTasks,
    body: Annotated[PipelineTemplate, Body()],
    tag: str | None = None,
) -> Json:
    """Gate's create (Orca's ``createV2PipelineTemplate``, here synchronous)."""
    return await _save(store, client, settings, guard, background, document(body), tag, None)


@router.post(BASE, response_model=SavedTemplate, response_model_exclude_unset=True)
async def create_front50(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    guard: GuardDep,
    background: BackgroundTasks,
    body: Annotated[PipelineTemplate, Body()],
    tag: str | None = None,
) -> Json:
    """Front50's create."""
    return await _save(store, client, settings, guard, background, document(body), tag, None)


@router.post(f"{BASE}/update/{{template_id}}", response_model=SavedTemplate, response_model_exclude_unset=True)
async def update(
    template_id: str,
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    guard: GuardDep,
    background: BackgroundTasks,
    body: Annotated[PipelineTemplate, Body()],
    tag: str | None = None,
    skipPlanDependents: bool = False,  # noqa: N803 - Gate's parameter
) -> Json:
    """Gate's update (Orca's ``updateV2PipelineTemplate``). The update is saved whatever its dependents make of
    it (as Orca saves it); unless ``skipPlanDependents``, the answer lists the dependents that no longer render
    (``dependentErrors``), so a breaking change is seen at once rather than when their triggers fire."""
    saved = await _save(store, client, settings, guard, background, document(body), tag, template_id)
    if not skipPlanDependents:
        saved["dependentErrors"] = await asyncio.to_thread(_templates(store).dependent_errors, saved["id"])
    return saved


@router.put(f"{BASE}/{{template_id}}", response_model=SavedTemplate, response_model_exclude_unset=True)
async def update_front50(
    template_id: str,
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    guard: GuardDep,
    background: BackgroundTasks,
    body: Annotated[PipelineTemplate, Body()],
    tag: str | None = None,
) -> Json:
    """Front50's update."""
    return await _save(store, client, settings, guard, background, document(body), tag, template_id)


@router.get(f"{BASE}/{{template_id}}", response_model=PipelineTemplate, response_model_exclude_unset=True)
async def get(template_id: str, store: StoreDep, tag: str | None = None, digest: str | None = None) -> Json:
    doc: Json = await asyncio.to_thread(_templates(store).get, template_id, tag or None, digest or None)
    return doc


@router.delete(f"{BASE}/{{template_id}}", status_code=202, response_model=TemplateDeleted)
async def delete(
    template_id: str,
    store: StoreDep,
    guard: GuardDep,
    tag: str | None = None,
    digest: str | None = None,
    application: str = "spinnaker",
) -> Json:
    """Delete one stored version; refused (409, Front50's message) while pipelines depend on it."""
    from templates.stored import key_of

    key = key_of(template_id, tag or None, digest or None)
    await _may_change(guard, store, key)
    await asyncio.to_thread(_templates(store).delete, template_id, tag or None, digest or None)
    return {"deleted": key}


async def _dependents(store: Store, guard: Guard, template_id: str) -> list[Json]:
    users = await asyncio.to_thread(_templates(store).dependents, template_id)
    kept: list[Json] = await guard.keep_apps(users)
    return kept


@router.get(f"{BASE}/{{template_id}}/dependents", response_model=list[Dependent])
async def dependents(template_id: str, store: StoreDep, guard: GuardDep) -> list[Json]:
    """Gate's answer: ``[{application, id, name}]`` of the pipelines that use the template (those you may read)."""
    return [
        {"application": p.get("application"), "id": p.get("id"), "name": p.get("name")}
        for p in await _dependents(store, guard, template_id)
    ]


@router.get(
    f"{BASE}/{{template_id}}/dependentPipelines", response_model=list[PipelineConfig], response_model_exclude_unset=True
)
async def dependent_pipelines(template_id: str, store: StoreDep, guard: GuardDep, settings: SettingsDep) -> list[Json]:
    """Front50's answer: the pipeline configs themselves (secrets redacted)."""
    from ..auth.redaction import redact_all

    return redact_all(await _dependents(store, guard, template_id), settings.auth.secret_fields)
