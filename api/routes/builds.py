"""Gate's CI reads (Igor behind Gate): Jenkins masters, their jobs and builds.

The API asks Jenkins directly, through the same client the worker's Jenkins stage uses (Gate asks Igor,
which asks Jenkins), with the master's credentials. So, as Igor does, every read of a master needs READ on it
(``auth.build_services``) while authentication is on, and the list of masters shows only those the caller may
READ. Unknown masters and jobs are 404s; an unreachable master is a 502 with its name.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request

from ..auth.enforce import READ, GuardDep
from ..deps import SettingsDep
from ..errors import ApiError

router = APIRouter(tags=["builds"])


def _masters(request: Request, settings: Any) -> Any:
    from integrations.jenkins.client import JenkinsMasters

    masters = getattr(request.app.state, "jenkins", None)
    if masters is None:
        masters = request.app.state.jenkins = JenkinsMasters(settings.jenkins.masters)
    return masters


async def _call(fn: Any, *args: Any) -> Any:
    from integrations.jenkins.errors import JenkinsError, JenkinsNotFoundError

    try:
        return await asyncio.to_thread(fn, *args)
    except JenkinsNotFoundError as err:
        raise ApiError(404, str(err)) from None
    except JenkinsError as err:
        raise ApiError(502, str(err)) from None


@router.get("/v2/builds")
async def masters(request: Request, settings: SettingsDep, guard: GuardDep) -> list[str]:
    return [name for name in _masters(request, settings).names() if guard.build_service_allows(name, READ)]


@router.get("/v3/builds/{master}/jobs")
async def jobs(master: str, request: Request, settings: SettingsDep, guard: GuardDep) -> list[str]:
    guard.build_service(master, READ)
    return await _call(_masters(request, settings).list_jobs, master)  # type: ignore[no-any-return]


@router.get("/v3/builds/{master}/jobConfig")
async def job_config(
    master: str, request: Request, settings: SettingsDep, guard: GuardDep, job: str = Query(...)
) -> dict[str, Any]:
    guard.build_service(master, READ)
    return await _call(_masters(request, settings).get_job_config, master, job)  # type: ignore[no-any-return]


@router.get("/v3/builds/{master}/builds")
async def builds(
    master: str, request: Request, settings: SettingsDep, guard: GuardDep, job: str = Query(...)
) -> list[dict[str, Any]]:
    guard.build_service(master, READ)
    return await _call(_masters(request, settings).list_builds, master, job)  # type: ignore[no-any-return]


@router.get("/v3/builds/{master}/build/{number}")
async def build(
    master: str, number: int, request: Request, settings: SettingsDep, guard: GuardDep, job: str = Query(...)
) -> dict[str, Any]:
    guard.build_service(master, READ)
    return await _call(_masters(request, settings).get_build, master, job, number)  # type: ignore[no-any-return]
