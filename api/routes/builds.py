"""Gate's CI reads (Igor behind Gate): build services (Jenkins masters, Travis, GitHub Actions, GitLab CI), their
jobs and builds.

The API asks the service directly, through the same client the worker's stages use (Gate asks Igor, which
asks the service), with the service's credentials. So, as Igor does, every read of a service needs READ on it
(``auth.build_services`` or the CI service's ``permissions``) while authentication is on, and the list of
services shows only those the caller may READ. Unknown services and jobs are 404s; an unreachable service is
a 502 with its name. ``/buildServices`` is Igor's list of every service with its provider and permissions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, Query, Request

from ..auth.enforce import READ, GuardDep
from ..deps import SettingsDep
from ..errors import ApiError
from ..models.builds import Build, BuildService, BuildSummary, JobConfig

if TYPE_CHECKING:
    from core.settings import Settings
    from integrations.ci.services import BuildServices
    from integrations.jenkins.client import JenkinsMasters

router = APIRouter(tags=["builds"])
T = TypeVar("T")
JENKINS = "JENKINS"


def _masters(request: Request, settings: Settings) -> JenkinsMasters:
    from integrations.jenkins.client import JenkinsMasters

    masters: JenkinsMasters | None = getattr(request.app.state, "jenkins", None)
    if masters is None:
        masters = request.app.state.jenkins = JenkinsMasters(settings.jenkins.masters)
    return masters


def _ci(request: Request, settings: Settings) -> BuildServices:
    from integrations.ci.services import BuildServices

    services: BuildServices | None = getattr(request.app.state, "ci_services", None)
    if services is None:
        services = request.app.state.ci_services = BuildServices.from_settings(settings)
    return services


async def _call(fn: Callable[..., T], *args: Any) -> T:
    from integrations.ci.base import CiError, CiNotFoundError
    from integrations.jenkins.errors import JenkinsError, JenkinsNotFoundError

    try:
        return await asyncio.to_thread(fn, *args)
    except (JenkinsNotFoundError, CiNotFoundError) as err:
        raise ApiError(404, str(err)) from None
    except (JenkinsError, CiError) as err:
        raise ApiError(502, str(err)) from None


def _provider(type_: str) -> str | None:
    """Igor's ``BuildServiceProvider.valueOf(type.toUpperCase())``; ``github-actions`` reads as ``GITHUB_ACTIONS``."""
    from integrations.ci.services import PROVIDERS

    if not type_.strip():
        return None
    provider = type_.strip().upper().replace("-", "_")
    if provider != JENKINS and provider not in PROVIDERS:
        known = ", ".join(sorted({JENKINS, *PROVIDERS}))
        raise ApiError(400, f"type: unknown build service type '{type_}' (one of {known})", field="type")
    return provider


def _names(request: Request, settings: Settings, provider: str | None) -> list[str]:
    names = _masters(request, settings).names() if provider in (None, JENKINS) else []
    ci = _ci(request, settings)
    return names + [n for n in ci.names() if provider is None or ci.provider_of(n) == provider]


@router.get("/v2/builds")
async def masters(request: Request, settings: SettingsDep, guard: GuardDep, type: str = "") -> list[str]:
    names = _names(request, settings, _provider(type))
    return [name for name in names if guard.build_service_allows(name, READ)]


@router.get("/v3/builds")
async def masters_v3(request: Request, settings: SettingsDep, guard: GuardDep, type: str = "") -> list[str]:
    return await masters(request, settings, guard, type)


@router.get("/buildServices", response_model=list[BuildService])
async def build_services(request: Request, settings: SettingsDep) -> list[dict[str, Any]]:
    """Igor's ``/buildServices``: every build service with ``buildServiceProvider`` and ``permissions``."""
    from core.settings.ci import build_service_permissions

    permissions = build_service_permissions(settings)
    ci = _ci(request, settings)
    listed = [(n, JENKINS) for n in _masters(request, settings).names()] + [(n, ci.provider_of(n)) for n in ci.names()]
    return [
        {"name": name, "buildServiceProvider": provider, "permissions": permissions.get(name, {})}
        for name, provider in listed
    ]


@router.get("/v3/builds/{master}/jobs")
async def jobs(master: str, request: Request, settings: SettingsDep, guard: GuardDep) -> list[str]:
    guard.build_service(master, READ)
    ci = _ci(request, settings)
    if ci.has(master):
        return await _call(lambda: ci.service(master).list_jobs())
    return await _call(_masters(request, settings).list_jobs, master)


@router.get("/v3/builds/{master}/jobConfig", response_model=JobConfig)
async def job_config(
    master: str, request: Request, settings: SettingsDep, guard: GuardDep, job: str = Query(...)
) -> dict[str, Any]:
    guard.build_service(master, READ)
    ci = _ci(request, settings)
    if ci.has(master):
        from integrations.ci.services import job_config as ci_job_config

        return await _call(ci_job_config, ci.service(master), job)
    return await _call(_masters(request, settings).get_job_config, master, job)


@router.get("/v3/builds/{master}/builds", response_model=list[BuildSummary], response_model_exclude_unset=True)
async def builds(
    master: str, request: Request, settings: SettingsDep, guard: GuardDep, job: str = Query(...)
) -> list[dict[str, Any]]:
    guard.build_service(master, READ)
    ci = _ci(request, settings)
    if ci.has(master):
        return await _call(lambda: [b.to_summary() for b in ci.service(master).builds(job)])
    return await _call(_masters(request, settings).list_builds, master, job)


@router.get("/v3/builds/{master}/build/{number}", response_model=Build, response_model_exclude_unset=True)
async def build(
    master: str, number: int, request: Request, settings: SettingsDep, guard: GuardDep, job: str = Query(...)
) -> dict[str, Any]:
    guard.build_service(master, READ)
    ci = _ci(request, settings)
    if ci.has(master):
        return await _call(lambda: ci.service(master).get_build(job, number).to_build_info())
    return await _call(_masters(request, settings).get_build, master, job, number)
