"""Every workflow class the worker registers."""

from __future__ import annotations

from typing import Any

from bakery.workflow import BakeWorkflow
from canary.workflow import CanaryRunWorkflow
from integrations.dinghy.poll import DinghyPollWorkflow
from integrations.dinghy.workflow import DinghySyncWorkflow

from .ci_poll import CiPollWorkflow
from .cloud_cache import RefreshCloudCacheWorkflow
from .concurrency import ConcurrencyGateWorkflow
from .events import DeliverEchoEventsWorkflow
from .jenkins_poll import JenkinsPollWorkflow
from .notification_delivery import DeliverNotificationsWorkflow
from .pipeline import PipelineWorkflow
from .reconciler import ReconcileExecutionsWorkflow
from .reminders import JudgmentReminders
from .stage import StageWorkflow
from .triggers import CronTriggerWorkflow

WORKFLOWS: list[type] = [
    PipelineWorkflow,
    StageWorkflow,
    ConcurrencyGateWorkflow,
    CronTriggerWorkflow,
    RefreshCloudCacheWorkflow,
    BakeWorkflow,
    JenkinsPollWorkflow,
    CiPollWorkflow,
    JudgmentReminders,
    ReconcileExecutionsWorkflow,
    CanaryRunWorkflow,
    DinghySyncWorkflow,
    DinghyPollWorkflow,
    DeliverEchoEventsWorkflow,
    DeliverNotificationsWorkflow,
]


def workflow_runner() -> Any:
    """The sandbox every worker runs our workflows in.

    The sandbox still refuses clocks, randomness, threads and I/O inside workflows, but passes every
    module through instead of re-importing our workflow modules for each new workflow run: a stage
    is a new child workflow, and re-importing cost ~15 ms of every stage transition (docs/performance.md).
    Our workflow modules hold no mutable module state, which is what the re-import protects against.
    """
    from temporalio.worker.workflow_sandbox import SandboxRestrictions

    from .runner import CompiledSandboxedWorkflowRunner  # the sandbox, its entry code compiled once

    return CompiledSandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())
