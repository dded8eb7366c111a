"""Applications and tasks (orchestrations).

``POST /tasks`` takes Spinnaker's ``job`` list. Application jobs (create, update, delete) are store
writes, so they run at once and are recorded as a finished ORCHESTRATION execution, which
``GET /tasks/{id}`` then shows as Orca's orchestration view; any other job list runs as an
orchestration on the engine, like a pipeline without a config.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Query, Response

from core.ids import new_ulid
from core.settings import Settings

from .. import executions as reads
from ..auth.enforce import EXECUTE, READ, WRITE, Guard, GuardDep
from ..deps import ClientDep, SettingsDep, StoreDep, UserDep
from ..errors import bad_request
from ..models import Application, ApplicationView, Execution, ExecutionRef, TaskRequest, TaskView, document
from .executions import _statuses
from .pipelines import _start, manual_trigger

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.store import Store

router = APIRouter(tags=["applications"])
Json = dict[str, Any]
APPLICATION_JOBS = {"createApplication", "updateApplication", "upsertApplication", "deleteApplication"}
PROJECT_JOBS = {"upsertProject", "deleteProject"}
TASK_CLASS = "com.netflix.spinnaker.orca.applications.tasks"


@router.get("/applications", response_model=list[Application], response_model_exclude_unset=True)
async def list_applications(store: StoreDep, guard: GuardDep) -> list[Json]:
    return await guard.keep_apps(await asyncio.to_thread(store.applications.all), key=lambda a: a.get("name"))


@router.get("/applications/{application}", response_model=ApplicationView, response_model_exclude_unset=True)
async def get_application(application: str, store: StoreDep, guard: GuardDep, expand: bool = True) -> Json:
    await guard.app(application, READ)
    app = await asyncio.to_thread(store.applications.get, application)
    return {"name": app["name"], "attributes": app, "clusters": {}}


@router.get("/applications/{application}/tasks", response_model=list[Execution])
async def app_tasks(
    application: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    limit: int = Query(100, ge=1, le=5000),
    statuses: str | None = None,
) -> Response:
    await guard.app(application, READ)
    found = await asyncio.to_thread(
        store.executions.query, application=application, type="ORCHESTRATION", statuses=_statuses(statuses), limit=limit
    )
    return reads.json_list(await reads.refresh(client, found, expand=True, secret_fields=reads.secrets(settings)))


@router.post("/tasks", response_model=ExecutionRef)
async def post_task(
    client: ClientDep, store: StoreDep, settings: SettingsDep, guard: GuardDep, task: TaskRequest = Body(...)
) -> Json:
    return await _task(client, store, settings, guard, document(task), None)


@router.post("/applications/{application}/tasks", response_model=ExecutionRef)
async def post_app_task(
    application: str,
    client: ClientDep,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    task: TaskRequest = Body(...),
) -> Json:
    return await _task(client, store, settings, guard, document(task), application)


@router.get("/tasks/{task_id}", response_model=TaskView, response_model_exclude_unset=True)
async def get_task(task_id: str, client: ClientDep, store: StoreDep, settings: SettingsDep, guard: GuardDep) -> Json:
    execution = await reads.get(client, store, task_id, secret_fields=reads.secrets(settings))
    return orchestration_view(await guard.execution(execution, READ))


@router.put("/tasks/{task_id}/cancel")
async def cancel_task(task_id: str, client: ClientDep, store: StoreDep, guard: GuardDep, user: UserDep) -> None:
    from workflows import operations

    await guard.execution(await reads.get(client, store, task_id, secret_fields=()), EXECUTE)

    await operations.cancel_execution(client, task_id, user=user)


async def _task(
    client: Client, store: Store, settings: Settings, guard: Guard, body: Json, application: str | None
) -> Json:
    user = guard.principal.name
    jobs = body.get("job")
    if not isinstance(jobs, list) or not jobs or not all(isinstance(j, dict) and j.get("type") for j in jobs):
        raise bad_request("job must be a non-empty list of objects with a type", field="job")
    application = application or body.get("application") or _job_application(jobs[0])
    if application is None and all(j["type"] in PROJECT_JOBS for j in jobs):
        application = "spinnaker"  # Deck files project tasks under this application
    if not isinstance(application, str) or not application:
        raise bad_request("application is required", field="application")
    description = body.get("description") or _describe(jobs[0], application)
    if all(j["type"] in PROJECT_JOBS for j in jobs):
        await _check_project_jobs(guard, store, jobs)
        execution = await asyncio.to_thread(
            _run_project_jobs, store, jobs, application, description, user, await guard.authentication_off_loop()
        )
        return {"ref": f"/tasks/{execution['id']}"}
    if all(j["type"] in APPLICATION_JOBS for j in jobs):
        await _check_application_jobs(guard, jobs)
        execution = await asyncio.to_thread(
            _run_application_jobs, store, jobs, application, description, user, await guard.authentication_off_loop()
        )
        return {"ref": f"/tasks/{execution['id']}"}
    await guard.app(application, EXECUTE)
    guard.jobs(jobs)
    config = {
        "application": application,
        "description": description,
        "stages": [{k: v for k, v in j.items()} for j in jobs],
    }
    execution_id = await _start(
        client,
        settings,
        config,
        manual_trigger(body.get("trigger"), user, enforce=settings.auth.enabled),
        type="ORCHESTRATION",
        user=user,
        authentication=await guard.authentication_off_loop(),
    )
    return {"ref": f"/tasks/{execution_id}"}


async def _check_application_jobs(guard: Guard, jobs: list[Json]) -> None:
    """WRITE on each application a job updates or deletes; creating a new one is open (Fiat's CREATE)."""
    for job in jobs:
        name = _job_application(job)
        if not name:
            continue  # refused with a message naming the field when the job runs
        if job["type"] == "deleteApplication":
            await guard.app(name, WRITE)
        else:
            await guard.app_write_or_create(name)


async def _check_project_jobs(guard: Guard, store: Store, jobs: list[Json]) -> None:
    """A project is written by those who may WRITE every application it lists (now and as stored)."""
    from core.store import NotFoundError

    if not guard.enabled:
        return
    for job in jobs:
        project: Json = job["project"] if isinstance(job.get("project"), dict) else {}
        apps = set((project.get("config") or {}).get("applications") or [])
        key = project.get("id") or project.get("name")
        if isinstance(key, str) and key:
            try:
                stored = await asyncio.to_thread(store.projects.get, key)
                apps |= set((stored.get("config") or {}).get("applications") or [])
            except NotFoundError:
                pass
        for app in sorted(a for a in apps if isinstance(a, str)):
            await guard.app(app, WRITE)


def _job_application(job: Json) -> str | None:
    app = job.get("application")
    return app.get("name") if isinstance(app, dict) else app if isinstance(app, str) else None


def _describe(job: Json, application: str) -> str:
    words = {
        "createApplication": "Create Application",
        "updateApplication": "Update Application",
        "upsertApplication": "Update Application",
        "deleteApplication": "Delete Application",
    }
    return f"{words.get(job['type'], job['type'])}: {application}"


def _run_application_jobs(
    store: Store, jobs: list[Json], application: str, description: str, user: str, authentication: Json | None = None
) -> Json:
    """Apply application jobs to the store and record them as one finished orchestration."""
    from core.store import NotFoundError

    now = int(time.time() * 1000)
    stages = []
    for i, job in enumerate(jobs):
        app = job.get("application")
        if not isinstance(app, dict) or not isinstance(app.get("name"), str):
            raise bad_request("each application job needs application.name", field=f"job[{i}].application.name")
        try:
            previous = store.applications.get(app["name"])
        except NotFoundError:
            previous = {}
        if job["type"] == "deleteApplication":
            if not previous:
                raise NotFoundError(f"no application '{app['name']}'")
            store.applications.delete(app["name"], user)
            new_state: Json = {}
            kind = "deleteapplication"
        else:
            new_state = store.applications.save({**app, "user": job.get("user", user)}, user)
            kind = "upsertapplication"
        context = {
            "application.name": app["name"],
            "notification.type": kind,
            "previousState": previous,
            "newState": new_state,
        }
        stages.append(_finished_stage(i, job, now, context, _task_class(job["type"])))
    return _record_orchestration(store, application, description, user, now, stages, authentication)


def _run_project_jobs(
    store: Store, jobs: list[Json], application: str, description: str, user: str, authentication: Json | None = None
) -> Json:
    """Apply upsertProject / deleteProject jobs to the store, recorded as one finished orchestration."""
    stages = []
    now = int(time.time() * 1000)
    for i, job in enumerate(jobs):
        project = job.get("project")
        if not isinstance(project, dict) or not (project.get("name") or project.get("id")):
            raise bad_request("each project job needs project.name", field=f"job[{i}].project.name")
        if job["type"] == "deleteProject":
            store.projects.delete(project.get("id") or project["name"])
            saved: Json = {}
        else:
            saved = store.projects.save(project, user)
        stages.append(
            _finished_stage(
                i,
                job,
                now,
                {"project": saved or project},
                f"com.netflix.spinnaker.orca.front50.tasks.{job['type'][0].upper()}{job['type'][1:]}Task",
            )
        )
    return _record_orchestration(store, application, description, user, now, stages, authentication)


def _finished_stage(i: int, job: Json, now: int, context: Json, task_class: str) -> Json:
    end = int(time.time() * 1000)
    refs = [str(i - 1)] if i else []
    return {
        "id": new_ulid(),
        "refId": str(i),
        "requisiteStageRefIds": refs,
        "type": job["type"],
        "name": job["type"],
        "status": "SUCCEEDED",
        "startTime": now,
        "endTime": end,
        "context": {**job, **context, "refId": str(i), "requisiteStageRefIds": refs},
        "outputs": {},
        "tasks": [
            {
                "id": "1",
                "name": job["type"],
                "implementingClass": task_class,
                "status": "SUCCEEDED",
                "startTime": now,
                "endTime": end,
                "stageStart": True,
                "stageEnd": True,
                "loopStart": False,
                "loopEnd": False,
            }
        ],
    }


def _record_orchestration(
    store: Store,
    application: str,
    description: str,
    user: str,
    now: int,
    stages: list[Json],
    authentication: Json | None = None,
) -> Json:
    execution = {
        "id": new_ulid(),
        "type": "ORCHESTRATION",
        "application": application,
        "description": description,
        "status": "SUCCEEDED",
        "buildTime": now,
        "startTime": now,
        "endTime": int(time.time() * 1000),
        "canceled": False,
        "limitConcurrent": False,
        "keepWaitingPipelines": False,
        "stages": stages,
        "origin": "api",
        "trigger": {
            "type": "manual",
            "user": user,
            "parameters": {},
            "artifacts": [],
            "notifications": [],
            "rebake": False,
            "dryRun": False,
            "strategy": False,
            "resolvedExpectedArtifacts": [],
        },
        "authentication": authentication or {"user": user, "allowedAccounts": []},
        "notifications": [],
        "initialConfig": {},
        "systemNotifications": [],
    }
    store.executions.save(execution)
    return execution


def _task_class(job_type: str) -> str:
    name = "DeleteApplicationTask" if job_type == "deleteApplication" else "UpsertApplicationTask"
    return f"{TASK_CLASS}.{name}"


def orchestration_view(execution: Json) -> Json:
    """Orca's ``OrchestrationViewModel``: the execution plus its steps and flattened context."""
    steps = [t for s in execution.get("stages", []) if s.get("parentStageId") is None for t in s.get("tasks", [])]
    variables = [
        {"key": k, "value": v} for s in execution.get("stages", []) for k, v in (s.get("context") or {}).items()
    ]
    view = {
        "id": execution["id"],
        "name": execution.get("description") or execution.get("name"),
        "application": execution.get("application"),
        "status": execution.get("status"),
        "buildTime": execution.get("buildTime"),
        "startTime": execution.get("startTime"),
        "endTime": execution.get("endTime"),
        "steps": steps,
        "variables": variables,
        "execution": execution,
    }
    return {k: v for k, v in view.items() if v is not None}
