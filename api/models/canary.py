"""Kayenta's documents behind Gate: canary configs, run requests and their status, accounts, judges, metric
descriptors and metric-set pairs, and the backtest (ours).

A config or a request is handed on as the client sent it (``document``); Kayenta's own checks
(core/store/canary.py, canary/request.py, canary/backtest.py) answer what does not fit, naming the field.
"""

from __future__ import annotations

from typing import Any

from .base import SpinnakerDocument

Json = dict[str, Any]


class CanaryMetricConfig(SpinnakerDocument):
    """One metric: its query (``query.type`` names the metrics service), groups, the judge's view of it."""

    name: str
    query: Json | None = None
    groups: list[str] | None = None
    analysis_configurations: Json | None = None
    scope_name: str | None = None


class CanaryConfig(SpinnakerDocument):
    """Kayenta's ``CanaryConfig``: metrics, their groups' weights (``classifier``), the judge."""

    name: str
    applications: list[str]
    id: str | None = None
    description: str | None = None
    config_version: str | None = None
    created_timestamp: int | None = None
    updated_timestamp: int | None = None
    created_timestamp_iso: str | None = None
    updated_timestamp_iso: str | None = None
    judge: Json | None = None
    metrics: list[CanaryMetricConfig] | None = None
    templates: Json | None = None
    classifier: Json | None = None


class CanaryConfigSummary(SpinnakerDocument):
    """One entry of ``GET /v2/canaryConfig``."""

    id: str | None
    name: str | None
    updated_timestamp: int | None
    updated_timestamp_iso: str | None
    applications: list[str] | None


class CanaryConfigSaved(SpinnakerDocument):
    canary_config_id: str


class CanaryScope(SpinnakerDocument):
    """One side of a scope: what to query (``scope``, ``location``), from ``start`` to ``end``, every ``step``."""

    scope: str | None = None
    location: str | None = None
    start: str | None = None
    end: str | None = None
    step: int | None = None
    extended_scope_params: dict[str, str] | None = None


class CanaryScopePair(SpinnakerDocument):
    control_scope: CanaryScope
    experiment_scope: CanaryScope


class CanaryExecutionRequest(SpinnakerDocument):
    """Kayenta's ``CanaryExecutionRequest``: the scopes to compare and the score thresholds."""

    scopes: dict[str, CanaryScopePair]
    thresholds: Json | None = None
    site_local: Json | None = None


class AdHocCanaryRequest(SpinnakerDocument):
    """``POST /v2/canaries/canary``: a config given whole, with the request to run it over."""

    canary_config: CanaryConfig
    execution_request: CanaryExecutionRequest


class CanaryRunStarted(SpinnakerDocument):
    canary_execution_id: str


class CanaryResult(SpinnakerDocument):
    judge_result: Json
    canary_duration: Any = None


class CanaryExecutionStatus(SpinnakerDocument):
    """Kayenta's ``CanaryExecutionStatusResponse``; ``result`` once the run succeeded."""

    application: str | None = None
    parent_pipeline_execution_id: str | None = None
    pipeline_id: str | None = None
    stage_status: dict[str, str] | None = None
    complete: bool
    status: str
    config: Json | None = None
    canary_config_id: str | None = None
    canary_execution_request: Json | None = None
    metric_set_pair_list_id: str | None = None
    metrics_account_name: str | None = None
    storage_account_name: str | None = None
    configuration_account_name: str | None = None
    warnings: list[Any] | None = None
    build_time_millis: int | None = None
    build_time_iso: str | None = None
    start_time_millis: int | None = None
    start_time_iso: str | None = None
    end_time_millis: int | None = None
    end_time_iso: str | None = None
    exception: Json | None = None
    result: CanaryResult | None = None


class KayentaAccount(SpinnakerDocument):
    """A metrics account, or the store as the configuration and object store (``/v2/canaries/credentials``)."""

    name: str
    type: str
    supported_types: list[str]
    locations: list[str] | None = None
    recommended_locations: list[str] | None = None


class Judge(SpinnakerDocument):
    name: str
    visible: bool


class MetricDescriptor(SpinnakerDocument):
    """A metric the metrics service knows (``/v2/canaries/metadata/metricsService``)."""

    name: str


class MetricSetPair(SpinnakerDocument):
    """One metric's control and experiment values side by side, with the scopes and tags they were read at."""

    name: str | None = None
    id: str | None = None
    tags: Json | None = None
    values: dict[str, list[Any]] | None = None
    scopes: Json | None = None
    attributes: Json | None = None


class BacktestWindow(SpinnakerDocument):
    """A past window to judge over: both scopes and the interval (``startTimeIso``, ``endTimeIso``)."""

    control_scope: str | None = None
    experiment_scope: str | None = None
    start_time_iso: str | None = None
    end_time_iso: str | None = None


class BacktestRequest(SpinnakerDocument):
    """``POST /v2/canaries/backtest``: a config (stored or given) over ``windows``, or over the intervals that
    earlier kayentaCanary stages of ``pipelineConfigId`` / ``executionIds`` recorded (the last ``limit``)."""

    canary_config_id: str | None = None
    canary_config: CanaryConfig | None = None
    application: str | None = None
    windows: list[BacktestWindow] | None = None
    pipeline_config_id: str | None = None
    execution_ids: list[str] | None = None
    limit: int | None = None
    thresholds: Json | None = None
    metrics_account_name: str | None = None


class BacktestResult(SpinnakerDocument):
    """The verdict the config would have given in each window, beside what was recorded then."""

    canary_config_id: str | None
    canary_config_name: str | None
    application: str
    thresholds: Json
    windows: list[Json]
    summary: dict[str, int]
