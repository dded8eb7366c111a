"""A worker's observability: the activity interceptor (task retries, the log context of a task) and the
``/metrics`` port that serves Gennaker's metrics together with the Temporal SDK's.

The SDK's metrics come from its Rust core (``temporalio.runtime``'s Prometheus exporter), which binds a port of
its own: the runtime binds it on loopback at a free port, and the worker's one metrics port serves both texts, so
a scrape config names one target per worker.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from . import metrics
from .logs import TASK_CONTEXT

log = logging.getLogger(__name__)


def _task_of(args: Any) -> tuple[str, str, str] | None:
    """(execution id, stage id, task name) of a task activity's input (a ``core.tasks.TaskInput`` or its dict)."""
    if not args:
        return None
    first = args[0]
    get: Any = first.get if isinstance(first, dict) else lambda key: getattr(first, key, None)
    execution_id, stage_id, task_name = get("execution_id"), get("stage_id"), get("task_name")
    if isinstance(execution_id, str) and isinstance(stage_id, str):
        return execution_id, stage_id, str(task_name or activity.info().activity_type)
    return None


#: the task activities that change a cloud (Clouddriver's operations), counted in gennaker_deploy_operations_total
DEPLOY_OPERATIONS = frozenset(
    {
        "deploy_create_server_groups",
        "cluster_operate",
        "server_group_rollback",
        "server_group_disable",
        "server_group_enable",
        "server_group_destroy",
        "server_group_resize",
        "infra_upsert_security_group",
        "infra_delete_security_group",
        "infra_upsert_load_balancer",
        "infra_delete_load_balancer",
        "infra_upsert_scaling_policy",
        "infra_delete_scaling_policy",
        "infra_upsert_scheduled_actions",
        "infra_delete_scheduled_actions",
        "infra_update_launch_template",
        "infra_upsert_image_tags",
        "manifest_deploy",
        "manifest_delete",
        "manifest_scale",
        "manifest_patch",
        "manifest_undo_rollout",
        "manifest_traffic",
    }
)
MONITOR_BAKE = "monitor_bake"


def _provider(task: Any, name: str) -> str:
    context = getattr(task, "context", None) or {}
    if name.startswith("manifest_"):
        return "kubernetes"
    return str(context.get("cloudProvider") or context.get("cloudProviderType") or "aws")


def _observe_task(name: str, task: Any, result: Any, error: BaseException | None) -> None:
    """Deploy operations by provider and result, and bake durations, from a task activity's final answer
    (a RUNNING answer is a poll, not a result; an exception counts as ``error``)."""
    status = getattr(getattr(result, "status", None), "value", None)
    if error is None and (status is None or status == "RUNNING"):
        return
    outcome = "error" if error is not None else str(status).lower()
    if name in DEPLOY_OPERATIONS:
        metrics.deploy_operation(_provider(task, name), name, outcome)
    elif name == MONITOR_BAKE and error is None:
        started = getattr(task, "stage_start_time_ms", 0) or 0
        if started:
            metrics.bake_finished(_provider(task, name), outcome, time.time() - started / 1000.0)


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.attempt > 1:
            metrics.task_retried(info.activity_type)
        task = input.args[0] if input.args else None
        token = TASK_CONTEXT.set(_task_of(input.args))
        try:
            result = await self.next.execute_activity(input)
        except Exception as err:
            _observe_task(info.activity_type, task, None, err)
            raise
        finally:
            TASK_CONTEXT.reset(token)
        _observe_task(info.activity_type, task, result, None)
        return result


class ObservabilityInterceptor(Interceptor):
    """Counts activity retries and puts a task's execution, stage and task name into its log lines."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_temporal_runtime() -> str:
    """Make the default Temporal runtime export the SDK's metrics on a loopback port (before any client
    connects: a client's workers use its runtime); returns that endpoint's URL."""
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    address = f"127.0.0.1:{free_loopback_port()}"
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=address, counters_total_suffix=True, unit_suffix=True, durations_as_seconds=True
            )
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)
    return f"http://{address}/metrics"


def scrape_text(sdk_url: str | None) -> bytes:
    """Gennaker's metrics, then the SDK's (no family is in both: the SDK's are ``temporal_*``)."""
    body, _ = metrics.exposition()
    if sdk_url:
        try:
            with urllib.request.urlopen(sdk_url, timeout=5) as answer:  # noqa: S310 - our own runtime, loopback
                body += answer.read()
        except OSError as err:
            log.warning("the Temporal SDK's metrics could not be read: %s", err)
    return body


class MetricsServer:
    """``GET /metrics`` on the worker's metrics port, in a daemon thread."""

    def __init__(self, host: str, port: int, sdk_url: str | None) -> None:
        sdk = sdk_url

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404, "only /metrics here")
                    return
                body = scrape_text(sdk)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - scrapes are not news
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_worker_metrics(settings: Any) -> MetricsServer | None:
    """The worker's metrics port per ``settings.observability`` (None when the port is 0); call it before the
    Temporal client connects, so the SDK's metrics are exported too."""
    obs = getattr(settings, "observability", None)
    if obs is None or not obs.worker_metrics_port:
        return None
    sdk_url = install_temporal_runtime()
    server = MetricsServer(obs.worker_metrics_host, obs.worker_metrics_port, sdk_url).start()
    log.info("metrics on http://%s:%d/metrics", obs.worker_metrics_host, server.port)
    return server
