"""Applications, projects and tasks (orchestrations) as Gate takes and answers them."""

from __future__ import annotations

from typing import Any

from .base import SpinnakerDocument, SpinnakerPart, Status
from .executions import Execution, Task


class Application(SpinnakerDocument):
    """Front50's application: a name plus any attributes Deck's form or a script sets."""

    name: str | None = None
    email: str | None = None
    description: str | None = None
    cloud_providers: str | None = None
    permissions: dict[str, Any] | None = None
    user: str | None = None
    create_ts: str | None = None
    update_ts: str | None = None
    last_modified_by: str | None = None


class ApplicationView(SpinnakerDocument):
    """Gate's ``GET /applications/{name}``: the stored attributes and the clusters (by account)."""

    name: str
    attributes: Application
    clusters: dict[str, Any]


class Job(SpinnakerPart):
    """One job of a task: its ``type`` (a stage type, or an application or project job) and that type's keys."""

    type: str | None = None
    application: str | Application | None = None
    project: dict[str, Any] | None = None
    user: str | None = None


class TaskRequest(SpinnakerDocument):
    """``POST /tasks``: what to do (``job``), for which application, described for people."""

    application: str | None = None
    description: str | None = None
    job: list[Job] | None = None
    trigger: dict[str, Any] | None = None


class TaskStep(Task):
    """An orchestration step, as Orca's task view lists them (a task of a top-level stage)."""


class TaskVariable(SpinnakerPart):
    key: str
    value: Any = None


class TaskView(SpinnakerDocument):
    """Orca's ``OrchestrationViewModel`` (``GET /tasks/{id}``): the execution, its steps and flattened context."""

    id: str
    name: str | None = None
    application: str | None = None
    status: Status | None = None
    build_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    steps: list[TaskStep] | None = None
    variables: list[TaskVariable] | None = None
    execution: Execution | None = None


class ProjectPipeline(SpinnakerPart):
    application: str | None = None
    pipeline_config_id: str | None = None


class ProjectConfig(SpinnakerPart):
    applications: list[str] | None = None
    clusters: list[dict[str, Any]] | None = None
    pipeline_configs: list[ProjectPipeline] | None = None


class Project(SpinnakerDocument):
    """Front50's project: applications, clusters and pipelines shown together."""

    id: str | None = None
    name: str | None = None
    email: str | None = None
    config: ProjectConfig | None = None
    create_ts: str | None = None
    update_ts: str | None = None
    last_modified_by: str | None = None
