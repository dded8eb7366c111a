"""The contract between a stage workflow and its task activities.

A stage type (``workflows/stages/``) plans tasks by activity name; the activity (``activities/``,
``canary/stage_activities.py``) is registered under that name, receives a :class:`TaskInput` and answers a
:class:`TaskResult`. Both sides import this module, so neither imports the other: workflows call
activities by name, and activities never import workflow code. The few stage-context rules both sides read
(is a cancel endpoint configured, is there a property file, the rollout's percentages) live here too, so the
plan and the task cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .status import ExecutionStatus

JSON = dict[str, Any]


@dataclass
class TaskInput:
    """What an activity task sees: the stage's evaluated context and where it runs."""

    execution_id: str
    application: str
    stage_id: str
    stage_ref_id: str
    stage_type: str
    task_name: str
    context: JSON
    stage_start_time_ms: int
    task_start_time_ms: int
    poll: int = 0
    trigger: JSON = field(default_factory=dict)
    outputs: JSON = field(default_factory=dict)
    #: the outputs of the stages this one follows, nearest first (where deploys find baked images)
    ancestor_outputs: list[JSON] = field(default_factory=list)


@dataclass
class TaskResult:
    """A task's answer. ``context`` and ``outputs`` are merged into the stage's; RUNNING means poll again."""

    status: ExecutionStatus
    context: JSON = field(default_factory=dict)
    outputs: JSON = field(default_factory=dict)
    backoff_ms: int | None = None
    error: str | None = None

    @classmethod
    def running(cls, backoff_ms: int | None = None, **context: Any) -> TaskResult:
        return cls(ExecutionStatus.RUNNING, context=context, backoff_ms=backoff_ms)

    @classmethod
    def succeeded(cls, context: JSON | None = None, outputs: JSON | None = None) -> TaskResult:
        return cls(ExecutionStatus.SUCCEEDED, context=context or {}, outputs=outputs or {})

    @classmethod
    def terminal(cls, error: str, context: JSON | None = None) -> TaskResult:
        return cls(ExecutionStatus.TERMINAL, context=context or {}, error=error)


# ---- activity names, by stage family ----------------------------------------------------------------------

# bake (Rosco)
CREATE_BAKE = "create_bake"
MONITOR_BAKE = "monitor_bake"
COMPLETED_BAKE = "completed_bake"
CANCEL_BAKE = "cancel_bake"

# jenkins and script (Igor)
START_JENKINS_JOB = "start_jenkins_job"
START_SCRIPT = "start_script"
WAIT_FOR_JENKINS_JOB_START = "wait_for_jenkins_job_start"
MONITOR_JENKINS_JOB = "monitor_jenkins_job"
GET_BUILD_PROPERTIES = "get_build_properties"
STOP_JENKINS_JOB = "stop_jenkins_job"

# webhook
CREATE_WEBHOOK = "create_webhook"
MONITOR_WEBHOOK = "monitor_webhook"
CANCEL_WEBHOOK = "cancel_webhook"

# runJobManifest
RUN_KUBERNETES_JOB = "run_kubernetes_job"
WAIT_ON_KUBERNETES_JOB = "wait_on_kubernetes_job"
DELETE_KUBERNETES_JOB = "delete_kubernetes_job"

# terraform (Armory Terraformer)
RUN_TERRAFORM = "run_terraform"

# kayentaCanary (Kayenta)
START_CANARY = "kayenta_start_canary"
RESOLVE_CONFIG = "kayenta_resolve_config_id"
MONITOR_CANARY = "kayenta_monitor_canary"
CANCEL_CANARY = "kayenta_cancel_canary"

#: Activities that heartbeat from a side thread while their calls run (activities/heartbeat.py: ``guarded`` in
#: activities/deploy_base.py and activities/manifest_tasks.py, the webhook's ``_send``). The engine schedules each with
#: :func:`side_heartbeat` as its heartbeat timeout (a stage task or its cancel hook), so a worker that dies in the
#: middle of a call is noticed within it and the call is made again elsewhere, not after the start-to-close timeout
#: (5 minutes by default). tests/workflows/test_heartbeats.py keeps this list true.
SIDE_HEARTBEAT_S = 20
HEARTBEATING_ACTIVITIES = frozenset(
    {
        *(CREATE_WEBHOOK, MONITOR_WEBHOOK, CANCEL_WEBHOOK),
        *("deploy_choose_names", "deploy_create_server_groups", "deploy_wait_for_up_instances", "deploy_cancel"),
        *("cluster_operate", "cluster_rollback_candidates", "find_image"),
        *("server_group_determine_target", "server_group_disable", "server_group_enable", "server_group_destroy"),
        *("server_group_resize", "server_group_rollback", "server_group_wait_for_capacity"),
        *("infra_upsert_security_group", "infra_delete_security_group", "infra_upsert_load_balancer"),
        *("infra_delete_load_balancer", "infra_upsert_scaling_policy", "infra_delete_scaling_policy"),
        *("infra_upsert_scheduled_actions", "infra_delete_scheduled_actions", "infra_update_launch_template"),
        *("infra_upsert_image_tags", "infra_refresh_cache"),
        *("manifest_resolve_target", "manifest_deploy", "manifest_traffic", "manifest_wait_stable"),
        *("manifest_delete", "manifest_scale", "manifest_patch", "manifest_undo_rollout"),
    }
)


def side_heartbeat(activity: str) -> timedelta | None:
    """The heartbeat timeout to schedule ``activity`` with: :data:`SIDE_HEARTBEAT_S` for one that beats while its
    calls run, else None (an activity without beats would be failed by a heartbeat timeout)."""
    return timedelta(seconds=SIDE_HEARTBEAT_S) if activity in HEARTBEATING_ACTIVITIES else None


# ---- stage-context rules both the plan and its tasks read ---------------------------------------------------


def cancel_configured(context: JSON) -> bool:
    """Is there a webhook cancel endpoint to call when the stage is canceled or fails?"""
    endpoint = context.get("cancelEndpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        return False
    # signalCancellation is Deck's checkbox; Orca itself only looks at cancelEndpoint, so only an
    # explicit "false" turns the call off.
    return context.get("signalCancellation") is not False


def has_property_file(context: Mapping[str, Any]) -> bool:
    """Does a Jenkins or script stage name a ``propertyFile`` to read after the build?"""
    value = context.get("propertyFile")
    return isinstance(value, str) and bool(value.strip())


def target_percentages(cluster: JSON) -> list[int]:
    """``targetPercentages`` (default [100]), each 1..100, always ending with 100 as Orca makes it end."""
    raw = cluster.get("targetPercentages")
    if raw in (None, "", []):
        return [100]
    if not isinstance(raw, list):
        raise ValueError("targetPercentages: must be a list of percentages, e.g. [50, 100]")
    out: list[int] = []
    for value in raw:
        try:
            pct = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"targetPercentages: {value!r} is not a number") from None
        if not 0 < pct <= 100 or pct != int(pct):
            raise ValueError(f"targetPercentages: {value!r} is not a whole percentage in 1..100")
        out.append(int(pct))
    if out != sorted(out):
        raise ValueError(f"targetPercentages: {out} must grow step by step")
    if out[-1] != 100:
        out.append(100)
    return out
