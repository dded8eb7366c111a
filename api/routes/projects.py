"""Projects (Front50): read here; created, updated and deleted through ``POST /tasks`` jobs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Response

from .. import executions as reads
from ..auth.enforce import GuardDep
from ..deps import ClientDep, StoreDep
from .executions import _statuses

router = APIRouter(tags=["projects"])
Json = dict[str, Any]


@router.get("/projects")
async def list_projects(store: StoreDep) -> list[Json]:
    return await asyncio.to_thread(store.list_projects)  # type: ignore[no-any-return]


@router.get("/projects/{project}")
async def get_project(project: str, store: StoreDep) -> Json:
    return await asyncio.to_thread(store.get_project, project)  # type: ignore[no-any-return]


@router.get("/projects/{project}/pipelines", response_model=list[dict[str, Any]])
async def project_executions(
    project: str,
    client: ClientDep,
    store: StoreDep,
    guard: GuardDep,
    limit: int = Query(5, ge=1, le=1000),
    statuses: str | None = None,
) -> Response:
    """The newest executions of the pipelines the project lists (or of all its applications' pipelines)."""
    found = await asyncio.to_thread(store.get_project, project)
    config = found.get("config") or {}
    ids = [p.get("pipelineConfigId") for p in config.get("pipelineConfigs") or [] if isinstance(p, dict)]
    ids = [i for i in ids if isinstance(i, str)]
    if not ids:
        apps = [a for a in config.get("applications") or [] if isinstance(a, str)]
        pipelines = [await asyncio.to_thread(store.list_pipelines, app) for app in apps]
        ids = [p["id"] for group in pipelines for p in group]
    if not ids:
        return reads.json_list([])
    executions = await asyncio.to_thread(
        store.list_executions, pipeline_config_ids=ids, statuses=_statuses(statuses), limit_per_config=limit
    )
    executions = await guard.keep_apps(executions)
    return reads.json_list(await reads.refresh(client, executions, expand=False))
