"""The ``bake`` stage: bake a machine image with Packer in each region, as Orca's ``BakeStage`` plans it.

The stage a user writes runs one task, ``completeParallel``, after one synthetic "Bake in <region>"
stage per region (in parallel). Each of those runs ``createBake`` (decide the bake, reuse a cached
image or start/join the bake workflow), ``monitorBake`` (poll it, every 30 s by default; 1 h timeout)
and ``completedBake`` (read the image). ``completeParallel`` gathers the regions' images into the
``deploymentDetails`` output that ``deploy`` stages downstream read. Canceling the stage detaches it
from its bakes; a bake nobody waits for any more stops packer.

The packer work lives in ``activities/bake.py`` and ``bakery/``; this module is pure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.tasks import CANCEL_BAKE, COMPLETED_BAKE, CREATE_BAKE, MONITOR_BAKE

from .base import JSON, StageDefinition, SyntheticStage, TaskResult, TaskRuntime, TaskSpec

_TASKS = "com.netflix.spinnaker.orca.bakery.tasks"
CREATE_TASK_CLASS = f"{_TASKS}.CreateBakeTask"
MONITOR_TASK_CLASS = f"{_TASKS}.MonitorBakeTask"
COMPLETED_TASK_CLASS = f"{_TASKS}.CompletedBakeTask"
COMPLETE_PARALLEL_CLASS = "com.netflix.spinnaker.orca.bakery.pipeline.BakeStage$CompleteParallelBakeTask"

#: Orca's CreateBakeTask: retried for up to 5 minutes
CREATE_TIMEOUT = timedelta(minutes=5)
#: Orca's MonitorBakeTask: 30 s backoff (the bakery's ``poll_interval_s`` overrides it), 1 h timeout
MONITOR_BACKOFF = timedelta(seconds=30)
MONITOR_TIMEOUT = timedelta(hours=1)
CALL_TIMEOUT = timedelta(minutes=2)

#: marks the per-region synthetic stages (Orca tells them apart by their parent stage)
REGION_STAGE = "regionalBake"
#: the child contexts' fields copied into ``deploymentDetails`` (Orca's DEPLOYMENT_DETAILS_CONTEXT_FIELDS)
DEPLOYMENT_DETAILS_FIELDS = (
    "ami",
    "amiName",
    "imageId",
    "imageName",
    "amiSuffix",
    "baseLabel",
    "baseOs",
    "refId",
    "storeType",
    "vmType",
    "region",
    "package",
    "cloudProviderType",
    "cloudProvider",
    "baseAmiId",
)


def regions_of(context: JSON) -> list[str]:
    """``region`` then ``regions``, each once, in order (Orca's ``parallelContexts``)."""
    found: list[Any] = [context.get("region")] if context.get("region") else []
    regions = context.get("regions")
    found += regions if isinstance(regions, list) else [regions] if isinstance(regions, str) else []
    return list(dict.fromkeys(str(r) for r in found if isinstance(r, str) and r.strip()))


def is_region_stage(context: JSON) -> bool:
    return context.get(REGION_STAGE) is True


def region_contexts(context: JSON) -> list[JSON]:
    """One context per region: the stage's own, without ``regions``, with that ``region``."""
    base = {k: v for k, v in context.items() if k not in ("regions", "region", "skipRegionDetection")}
    return [
        {**base, "type": "bake", "region": r, "name": f"Bake in {r}", REGION_STAGE: True} for r in regions_of(context)
    ]


async def complete_parallel(runtime: TaskRuntime) -> TaskResult:
    """Orca's ``CompleteParallelBakeTask``: the regions' images as ``deploymentDetails``."""
    children = [
        s
        for s in runtime.execution().get("stages", [])
        if s.get("parentStageId") == runtime.stage_id and s.get("type") == "bake"
    ]
    if not children:
        return TaskResult.terminal("regions: name at least one region to bake in")
    details = []
    for child in children:
        ctx = child.get("context") or {}
        if ctx.get("ami") or ctx.get("imageId"):
            details.append({k: ctx[k] for k in DEPLOYMENT_DETAILS_FIELDS if k in ctx})
    context: JSON = {}
    if len(details) == 1:
        context = {k: details[0][k] for k in ("ami", "imageId", "imageName") if k in details[0]}
    return TaskResult.succeeded(context, {"deploymentDetails": details})


class BakeStage(StageDefinition):
    """Orca's ``BakeStage``: per-region bakes before ``completeParallel``."""

    type = "bake"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        if not is_region_stage(context):
            return [TaskSpec("completeParallel", COMPLETE_PARALLEL_CLASS, run=complete_parallel)]
        return [
            TaskSpec(
                "createBake",
                CREATE_TASK_CLASS,
                activity=CREATE_BAKE,
                timeout=CREATE_TIMEOUT,
                start_to_close=CALL_TIMEOUT,
                on_cancel=CANCEL_BAKE,
            ),
            TaskSpec(
                "monitorBake",
                MONITOR_TASK_CLASS,
                activity=MONITOR_BAKE,
                polling=True,
                backoff=MONITOR_BACKOFF,
                timeout=MONITOR_TIMEOUT,
                start_to_close=CALL_TIMEOUT,
                on_cancel=CANCEL_BAKE,
            ),
            TaskSpec("completedBake", COMPLETED_TASK_CLASS, activity=COMPLETED_BAKE, start_to_close=CALL_TIMEOUT),
        ]

    def before_stages(self, context: JSON) -> list[SyntheticStage]:
        if is_region_stage(context):
            return []
        return [
            SyntheticStage("bake", ctx["name"], ctx, "STAGE_BEFORE", parallel_group="bake-regions")
            for ctx in region_contexts(context)
        ]

    def required_permissions(self, context: JSON) -> list[tuple[str, str, str]]:
        account = context.get("account") or context.get("accountName")  # the image is made in this account
        return [("account", account, "WRITE")] if isinstance(account, str) and account else []
