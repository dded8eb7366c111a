"""Gennaker's own Prometheus metrics, one registry per process, and their exposition.

Every metric is declared here, so the docs, the Grafana dashboard (ops/grafana/gennaker.json) and the tests name
one list. Callers use the small functions below (``execution_started``, ``event_delivered``...) rather than the
prometheus-client objects, so label names and values stay bounded and spelt one way.

Several processes (the API's workers) share counts through prometheus-client's multiprocess mode: when
``PROMETHEUS_MULTIPROC_DIR`` names a directory before this module is imported, every process writes its values
there and :func:`exposition` sums them. Without it each process exposes only its own values.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from threading import Lock
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from core.status import COMPLETED

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: stage and bake durations run from a second to hours
LONG_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, float("inf"))
#: HTTP requests and event delivery lags
SHORT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, float("inf"))

REGISTRY = CollectorRegistry(auto_describe=True)

EXECUTIONS_STARTED = Counter(
    "gennaker_executions_started",
    "Executions (pipelines and orchestrations) that started running, by application and type.",
    ["application", "type"],
    registry=REGISTRY,
)
EXECUTIONS_FINISHED = Counter(
    "gennaker_executions_finished",
    "Executions that reached a final status (SUCCEEDED, TERMINAL, CANCELED...), once per finish.",
    ["application", "type", "status"],
    registry=REGISTRY,
)
STAGE_DURATION = Histogram(
    "gennaker_stage_duration_seconds",
    "From a stage's startTime to its endTime, by Spinnaker stage type and final status.",
    ["type", "status"],
    buckets=LONG_BUCKETS,
    registry=REGISTRY,
)
TASK_RETRIES = Counter(
    "gennaker_task_retries",
    "Activity attempts after the first (a task or engine activity retried by Temporal), by activity name.",
    ["task"],
    registry=REGISTRY,
)
TRIGGER_EVENTS = Counter(
    "gennaker_trigger_events",
    "Trigger events (webhook, git, cron, jenkins...) by trigger type and outcome: accepted, refused, duplicate.",
    ["type", "outcome"],
    registry=REGISTRY,
)
DEPLOY_OPERATIONS = Counter(
    "gennaker_deploy_operations",
    "Cloud operations (deploy, resize, disable, destroy...) by cloud provider, operation and result.",
    ["provider", "operation", "result"],
    registry=REGISTRY,
)
BAKE_DURATION = Histogram(
    "gennaker_bake_duration_seconds",
    "Bakes from start to a final packer status, by cloud provider and result.",
    ["provider", "result"],
    buckets=LONG_BUCKETS,
    registry=REGISTRY,
)
EVENT_DELIVERIES = Counter(
    "gennaker_event_deliveries",
    "Echo events handed to a REST listener, by endpoint name and result (delivered, failed, dropped).",
    ["endpoint", "result"],
    registry=REGISTRY,
)
EVENT_DELIVERY_LAG = Histogram(
    "gennaker_event_delivery_lag_seconds",
    "From an event's creation to its delivery to a REST listener, by endpoint name.",
    ["endpoint"],
    buckets=SHORT_BUCKETS,
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "gennaker_notifications",
    "Notification sends by channel type and result (sent, disabled, retrying, failed).",
    ["type", "result"],
    registry=REGISTRY,
)
NOTIFICATION_LAG = Histogram(
    "gennaker_notification_lag_seconds",
    "From an event's creation to the start of the notifications it asks for (the notifications' reader).",
    buckets=SHORT_BUCKETS,
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "gennaker_http_requests",
    "API requests by method, route template (never the raw path) and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "gennaker_http_request_duration_seconds",
    "API request durations by method and route template.",
    ["method", "route"],
    buckets=SHORT_BUCKETS,
    registry=REGISTRY,
)

#: every metric family Gennaker itself declares (Temporal's ``temporal_*`` come from the SDK's runtime)
FAMILIES = (
    "gennaker_executions_started_total",
    "gennaker_executions_finished_total",
    "gennaker_stage_duration_seconds",
    "gennaker_task_retries_total",
    "gennaker_trigger_events_total",
    "gennaker_deploy_operations_total",
    "gennaker_bake_duration_seconds",
    "gennaker_event_deliveries_total",
    "gennaker_event_delivery_lag_seconds",
    "gennaker_notifications_total",
    "gennaker_notification_lag_seconds",
    "gennaker_http_requests_total",
    "gennaker_http_request_duration_seconds",
    "gennaker_gc_pause_seconds",  # core/observability/collector.py, on the processes that call its install()
)

UNKNOWN = "unknown"


def _label(value: object) -> str:
    text = str(value or "").strip()
    return text[:100] if text else UNKNOWN


class _Seen:
    """A bounded memory of what was already counted in this process: the engine rewrites a finished stage's row
    (a retried write, a later header write carrying it), and each stage's duration is observed once."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.keys: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self.lock = Lock()

    def first(self, key: tuple[str, ...]) -> bool:
        with self.lock:
            if key in self.keys:
                return False
            self.keys[key] = None
            if len(self.keys) > self.size:
                self.keys.popitem(last=False)
            return True


_stages_seen = _Seen()


def execution_started(application: str, execution_type: str = "PIPELINE") -> None:
    EXECUTIONS_STARTED.labels(_label(application), _label(execution_type)).inc()


def execution_finished(application: str, status: str, execution_type: str = "PIPELINE") -> None:
    EXECUTIONS_FINISHED.labels(_label(application), _label(execution_type), _label(status)).inc()


def stage_finished(execution_id: str, stage: dict[str, object]) -> bool:
    """Observe a finished stage's duration once per process; False when it was already seen or has no times."""
    start, end = stage.get("startTime"), stage.get("endTime")
    if not isinstance(start, int | float) or not isinstance(end, int | float) or end < start:
        return False
    if not _stages_seen.first((execution_id, str(stage.get("id")), str(stage.get("status")), str(end))):
        return False
    STAGE_DURATION.labels(_label(stage.get("type")), _label(stage.get("status"))).observe((end - start) / 1000.0)
    return True


def task_retried(task: str) -> None:
    TASK_RETRIES.labels(_label(task)).inc()


def trigger_event(trigger_type: str, *, outcome: str) -> None:
    """A trigger event matched a pipeline: ``accepted`` (it started), ``refused`` (a reason stops it) or
    ``duplicate`` (a redelivered event whose execution already exists)."""
    TRIGGER_EVENTS.labels(_label(trigger_type), _label(outcome)).inc()


def deploy_operation(provider: str, operation: str, result: str) -> None:
    DEPLOY_OPERATIONS.labels(_label(provider), _label(operation), _label(result)).inc()


def bake_finished(provider: str, result: str, seconds: float) -> None:
    BAKE_DURATION.labels(_label(provider), _label(result)).observe(max(seconds, 0.0))


def event_delivered(endpoint: str, result: str = "delivered", lag_seconds: float | None = None, count: int = 1) -> None:
    """``count`` events handed to a REST listener (``result``: delivered, failed, dropped); ``lag_seconds`` from
    the event's ``details.created`` to now, when it was delivered."""
    EVENT_DELIVERIES.labels(_label(endpoint), _label(result)).inc(count)
    if lag_seconds is not None:
        EVENT_DELIVERY_LAG.labels(_label(endpoint)).observe(max(lag_seconds, 0.0))


#: the channel types a notification's ``type`` label may take; anything else counts as ``other``
NOTIFICATION_CHANNELS = frozenset({"slack", "email", "microsoftteams", "googlechat", "sms", "webhook"})


def notification_sent(kind: str, result: str) -> None:
    """One send attempt of a notification (``result``: sent, disabled, retrying, failed)."""
    NOTIFICATIONS.labels(kind if kind in NOTIFICATION_CHANNELS else "other", _label(result)).inc()


def notifications_started(lag_seconds: float) -> None:
    """The notifications of one event were started, ``lag_seconds`` after the event was created."""
    NOTIFICATION_LAG.observe(max(lag_seconds, 0.0))


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> tuple[bytes, str]:
    """``(body, content type)`` of a scrape: this process's registry and Python's own collectors, or, in
    multiprocess mode, the sum over every process that wrote to the directory."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # the module has no annotations
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY as DEFAULT

    return generate_latest(REGISTRY) + generate_latest(DEFAULT), CONTENT_TYPE_LATEST


_FINISHED = frozenset(s.value for s in COMPLETED)
_starts_seen = _Seen()


def observe_projection_write(update: dict[str, Any], result: dict[str, Any] | None) -> None:
    """Count what one engine projection write (``store.executions.apply_update``) changed: an execution
    starting (its header RUNNING with a ``startTime`` not counted before), finishing (``finishedFirst``: the
    store says this write finished it, once per finish however often the write is retried) and each finished
    stage's duration. Called where the engine records its transitions, never from workflow code."""
    if not result or not result.get("applied"):
        return
    execution = update.get("execution") or {}
    application = str(update.get("application") or execution.get("application") or "")
    kind = str(execution.get("type") or "PIPELINE").upper()
    status = str(execution.get("status") or "").upper()
    start = execution.get("startTime")
    if status == "RUNNING" and start and _starts_seen.first((str(update.get("id")), str(start))):
        execution_started(application, kind)
    if result.get("finishedFirst"):
        execution_finished(application, status, kind)
    for item in update.get("stages") or ():
        stage = item.get("stage") if isinstance(item, dict) else None
        if isinstance(stage, dict) and str(stage.get("status") or "").upper() in _FINISHED:
            stage_finished(str(update.get("id")), stage)


def multiprocess_env(state_dir: str | os.PathLike[str]) -> dict[str, str]:
    """The environment a launcher of several API processes (``gennaker api`` with ``api.workers`` > 1) sets
    for them: a fresh, empty ``PROMETHEUS_MULTIPROC_DIR`` under ``state_dir``, so ``/metrics`` on any of them
    sums all of them, and nothing of an earlier run is counted again. Set it for the API only: a worker given
    the same directory would mix its counts into the API's."""
    import shutil
    from pathlib import Path

    folder = Path(state_dir) / "prometheus-multiproc"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return {MULTIPROC_ENV: str(folder.resolve())}
