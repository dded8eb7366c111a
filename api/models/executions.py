"""Executions as Gate returns them (Orca's pipeline and orchestration JSON): stages, tasks, the trigger, and
the small answers of the trigger and expression endpoints."""

from __future__ import annotations

from typing import Any

from .base import SpinnakerDocument, SpinnakerPart, Status
from .pipelines import Notification, Trigger


class Task(SpinnakerPart):
    """One task of a stage (an activity here), with Orca's loop and stage-boundary flags."""

    id: str | None = None
    name: str | None = None
    implementing_class: str | None = None
    status: Status | None = None
    start_time: int | None = None
    end_time: int | None = None
    stage_start: bool | None = None
    stage_end: bool | None = None
    loop_start: bool | None = None
    loop_end: bool | None = None


class Stage(SpinnakerPart):
    """A stage of an execution: its config in ``context``, what it produced in ``outputs``, its tasks."""

    id: str | None = None
    ref_id: str | None = None
    type: str | None = None
    name: str | None = None
    status: Status | None = None
    start_time: int | None = None
    end_time: int | None = None
    requisite_stage_ref_ids: list[str] | None = None
    parent_stage_id: str | None = None
    synthetic_stage_owner: str | None = None
    context: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    tasks: list[Task] | None = None


class ExecutionTrigger(Trigger):
    """What started an execution: the config's trigger with the event's fields (user, parameters, artifacts)."""

    user: str | None = None
    parameters: dict[str, Any] | None = None
    artifacts: list[dict[str, Any]] | None = None
    event_id: str | None = None
    dry_run: bool | None = None


class Execution(SpinnakerDocument):
    """A pipeline or orchestration execution (``type`` PIPELINE or ORCHESTRATION) as Gate answers it."""

    id: str | None = None
    type: str | None = None
    application: str | None = None
    name: str | None = None
    description: str | None = None
    pipeline_config_id: str | None = None
    status: Status | None = None
    build_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    canceled: bool | None = None
    canceled_by: str | None = None
    cancellation_reason: str | None = None
    limit_concurrent: bool | None = None
    keep_waiting_pipelines: bool | None = None
    origin: str | None = None
    trigger: ExecutionTrigger | None = None
    stages: list[Stage] | None = None
    notifications: list[Notification] | None = None
    authentication: dict[str, Any] | None = None
    initial_config: dict[str, Any] | None = None
    system_notifications: list[dict[str, Any]] | None = None


class ManualTrigger(SpinnakerDocument):
    """The body of a trigger request: parameters, artifacts and any other keys the execution's trigger keeps.
    ``type`` and ``user`` are the API's (a manual trigger by the caller) while authentication is on."""

    type: str | None = None
    user: str | None = None
    parameters: dict[str, Any] | None = None
    artifacts: list[dict[str, Any]] | None = None


class AdHocPipeline(SpinnakerDocument):
    """``POST /pipelines/start``: a pipeline config that is run, not saved, with its ``trigger``."""

    application: str | None = None
    name: str | None = None
    stages: list[dict[str, Any]] | None = None
    trigger: dict[str, Any] | None = None


class ExecutionRef(SpinnakerDocument):
    """Where the started execution (or task) is read: ``/pipelines/{id}`` or ``/tasks/{id}``."""

    ref: str


class EventRef(ExecutionRef):
    """Gate's v2 trigger answer: the event id the execution's trigger carries, and its ref."""

    event_id: str


class ExpressionResult(SpinnakerDocument):
    """An expression's value, or the failures Orca's evaluator records (``detail``)."""

    result: Any = None
    detail: dict[str, Any] | None = None
