"""Projects (Front50): read here; created, updated and deleted through ``POST /tasks`` jobs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Response

from .. import executions as reads
from ..auth.enforce import GuardDep
from ..deps import ClientDep, SettingsDep, StoreDep
from ..models import Execution, Project
from .executions import _statuses

router = APIRouter(tags=["projects"])
Json = dict[str, Any]


@router.get("/projects", response_model=list[Project], response_model_exclude_unset=True)
async def list_projects(store: StoreDep) -> list[Json]:
    return await asyncio.to_thread(store.projects.all)


@router.get("/projects/{project}", response_model=Project, response_model_exclude_unset=True)
async def get_project(project: str, store: StoreDep) -> Json:
    return await asyncio.to_thread(store.projects.get, project)


@router.get("/projects/{project}/pipelines", response_model=list[Execution])
async def project_executions(
    project: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    limit: int = Query(5, ge=1, le=1000),
    statuses: str | None = None,
) -> Response:
    """The newest executions of the pipelines the project lists (or of all its applications' pipelines)."""
    found = await asyncio.to_thread(store.projects.get, project)
    config = found.get("config") or {}
    named = [p.get("pipelineConfigId") for p in config.get("pipelineConfigs") or [] if isinstance(p, dict)]
    ids: list[str] = [i for i in named if isinstance(i, str)]
    if not ids:
        apps = [a for a in config.get("applications") or [] if isinstance(a, str)]
        pipelines = [await asyncio.to_thread(store.pipelines.all, app) for app in apps]
        ids = [p["id"] for group in pipelines for p in group]
    if not ids:
        return reads.json_list([])
    executions = await asyncio.to_thread(
        store.executions.query, pipeline_config_ids=ids, statuses=_statuses(statuses), limit_per_config=limit
    )
    executions = await guard.keep_apps(executions)
    return reads.json_list(await reads.refresh(client, executions, expand=False, secret_fields=reads.secrets(settings)))
