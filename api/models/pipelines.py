"""Pipeline configs as Front50 stores them and Gate serves them: triggers, notifications, parameters, stages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .base import Json, SpinnakerDocument, SpinnakerPart


class Trigger(SpinnakerPart):
    """One of a pipeline's triggers (cron, git, webhook, jenkins, pipeline, docker, ...), keyed by ``type``."""

    type: str | None = None
    enabled: bool | None = None
    id: str | None = None
    cron_expression: str | None = None
    source: str | None = None
    branch: str | None = None
    project: str | None = None
    slug: str | None = None
    master: str | None = None
    job: str | None = None
    application: str | None = None
    pipeline: str | None = None
    status: list[str] | None = None
    run_as_user: str | None = None
    payload_constraints: dict[str, Any] | None = None
    expected_artifact_ids: list[str] | None = None


class Notification(SpinnakerPart):
    """Who hears about a pipeline or stage: ``type`` (slack, email, ...), ``address`` and the events (``when``)."""

    type: str | None = None
    address: str | None = None
    level: str | None = None
    when: list[str] | None = None
    message: dict[str, Any] | None = None


class ParameterOption(SpinnakerPart):
    value: str | int | bool | None = None


class ParameterConfig(SpinnakerPart):
    """A pipeline parameter as Deck edits it; ``default`` fills a manual trigger that does not name it."""

    name: str | None = None
    label: str | None = None
    description: str | None = None
    default: str | int | bool | None = None
    required: bool | None = None
    has_options: bool | None = None
    pinned: bool | None = None
    options: list[ParameterOption] | None = None


class StageConfig(SpinnakerPart):
    """A stage in a config: its ``type`` decides the other keys (kept as they are)."""

    type: str | None = None
    name: str | None = None
    ref_id: str | None = None
    requisite_stage_ref_ids: list[str] | None = None
    fail_pipeline: bool | None = None
    continue_pipeline: bool | None = None
    complete_other_branches_then_fail: bool | None = None
    stage_enabled: dict[str, Any] | None = None
    notifications: list[Notification] | None = None


class PipelineConfig(SpinnakerDocument):
    """A pipeline (or strategy) config, as Deck and spin save it and Gate answers it."""

    id: str | None = None
    name: str | None = None
    application: str | None = None
    description: str | None = None
    index: int | None = None
    disabled: bool | None = None
    keep_waiting_pipelines: bool | None = None
    limit_concurrent: bool | None = None
    max_concurrent_executions: int | None = None
    spel_evaluator: str | None = None
    stages: list[StageConfig] | None = None
    triggers: list[Trigger] | None = None
    notifications: list[Notification] | None = None
    parameter_config: list[ParameterConfig] | None = None
    expected_artifacts: list[dict[str, Any]] | None = None
    roles: list[str] | None = None
    service_account: str | None = None
    locked: dict[str, Any] | None = None
    schema_: str | None = Field(None, alias="schema")
    template: dict[str, Any] | None = None
    variables: dict[str, Any] | None = None
    update_ts: str | None = None
    last_modified_by: str | None = None


class BulkSaveResult(BaseModel):
    """Front50's batch update answer: names saved, and each refused config with its ``errorMsg``."""

    model_config = ConfigDict(extra="allow")

    successful_pipelines_count: int
    successful_pipelines: list[str]
    failed_pipelines_count: int
    failed_pipelines: list[Json]


class ReorderRequest(SpinnakerDocument):
    """Deck's drag-and-drop: each pipeline id with its new position."""

    application: str | None = None
    ids_to_indices: dict[str, int] | None = None
