"""``kayentaCanary`` (Orca's KayentaCanaryStage) and its synthetic ``runCanary`` stages.

The stage plans its intervals from ``canaryConfig`` (``canary/stage_plan.py``) and adds, before its own task,
an optional "Warmup Wait", then per interval an "Interval Wait #i" (real time only: durable timers) and a
"Run Canary #i". A run at or below the marginal score fails its interval and with it the stage, so later
intervals never run (fail fast; ``continuePipeline`` makes the stage FAILED_CONTINUE). The stage's own task,
``aggregateCanaryResults``, decides from the last interval's score. Orca's ``runCanaryIntervals`` level is
flattened: its stages are the kayentaCanary's own synthetic stages.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC
from typing import Any

from canary import stage_plan as plan
from core.status import ExecutionStatus
from core.tasks import CANCEL_CANARY, MONITOR_CANARY, RESOLVE_CONFIG, START_CANARY

from . import kayenta_deploy
from .base import JSON, StageDefinition, SyntheticStage, TaskResult, TaskRuntime, TaskSpec

_ORCA = "com.netflix.spinnaker.orca.kayenta.tasks"


def _planned(context: JSON) -> tuple[plan.CanarySettings, int, float]:
    settings = plan.read_settings(context)
    count, interval = plan.interval_plan(settings)
    return settings, count, interval


def _intervals(runtime: TaskRuntime) -> list[JSON]:
    """This stage's runCanary stages, in order (read from the stage workflow's own stages: no I/O)."""
    stages = runtime.execution().get("stages") or []
    mine = [s for s in stages if s.get("parentStageId") == runtime.stage_id and s.get("type") == "runCanary"]
    return sorted(mine, key=lambda s: int((s.get("context") or {}).get("intervalIndex") or 0))


async def aggregate(runtime: TaskRuntime) -> TaskResult:
    """AggregateCanaryResultsTask: the last interval's score against the thresholds; every score is listed."""
    try:
        settings, count, _ = _planned(runtime.context)
    except plan.PlanError as err:
        return TaskResult.terminal(str(err))
    runs = _intervals(runtime)
    failed = next((s for s in runs if s.get("status") in ("FAILED_CONTINUE", "TERMINAL")), None)
    scores = [
        float(s["context"]["canaryScore"]) for s in runs if (s.get("context") or {}).get("canaryScore") is not None
    ]
    passed, message = plan.final_decision(scores, settings.pass_threshold, settings.marginal_threshold)
    if failed is not None:  # an interval failed fast (with deployments: it let the stage go on to clean up)
        error = (((failed.get("context") or {}).get("exception") or {}).get("details") or {}).get("error")
        passed, message = False, f"{failed.get('name')}: {error or 'failed'}"
    recorded = {
        "canaryScores": scores,
        "canaryScoreMessage": message,
        "intervals": [
            {
                "intervalIndex": (s.get("context") or {}).get("intervalIndex"),
                "canaryPipelineExecutionId": (s.get("context") or {}).get("canaryPipelineExecutionId"),
                "scopes": (s.get("context") or {}).get("scopes"),
                "canaryScore": (s.get("context") or {}).get("canaryScore"),
            }
            for s in runs
        ],
    }
    if passed:
        return TaskResult.succeeded(context=recorded, outputs=recorded)
    return TaskResult(ExecutionStatus.TERMINAL, context=recorded, outputs=recorded, error=message)


async def plan_interval(runtime: TaskRuntime) -> TaskResult:
    """This interval's windows (from the plan time, the first scope's start or a named stage's end) and the
    request scopes, written to the context for ``runCanary`` (Orca computes them while planning)."""
    ctx = runtime.context
    try:
        settings = plan.read_settings(ctx)
        view = runtime.execution()
        stages = view.get("stages") or []
        me = next(s for s in stages if s.get("id") == runtime.stage_id)
        parent = next(s for s in stages if s.get("id") == me.get("parentStageId"))
        earlier = [s for s in stages if s.get("parentStageId") == parent.get("id") and s.get("type") == "runCanary"
                   and s.get("status") in ("FAILED_CONTINUE", "TERMINAL")]  # fmt: skip
        if earlier:
            return TaskResult.succeeded(context={"skipped": f"{earlier[0].get('name')} failed: nothing left to judge"})
        plan_time = _at(parent.get("startTime")) or runtime.now()
        if settings.relative is not None:
            stage_end = None
            if settings.relative.stage is not None:
                named = [s for s in stages if s.get("name") == settings.relative.stage and not s.get("parentStageId")]
                if not named:
                    raise plan.PlanError(f"no stage named '{settings.relative.stage}' in this execution",
                                         "canaryConfig.scopes[0].window")  # fmt: skip
                stage_end = _at(named[0].get("endTime"))
            anchor = plan.relative_anchor(settings.relative, plan_time, stage_end)
        else:
            anchor = settings.start or plan_time
        if kayenta_deploy.pairs(parent.get("context") or {}):  # scopes of the groups the stage deployed
            deployed = kayenta_deploy.canary_scopes(settings.scopes, stages, str(parent.get("id")))
            settings = dataclasses.replace(settings, scopes=deployed)
        window = plan.window(settings, int(ctx["intervalIndex"]), anchor, float(ctx["intervalMins"]))
    except plan.PlanError as err:
        return TaskResult.terminal(str(err))
    scopes = plan.request_scopes(settings, window)
    thresholds = {
        "pass": settings.pass_threshold if settings.pass_threshold is not None else 75,
        "marginal": settings.marginal_threshold if settings.marginal_threshold is not None else 50,
    }
    return TaskResult.succeeded(
        context={
            "scopes": scopes,
            "scoreThresholds": thresholds,
            "parentStageId": me.get("parentStageId"),
            "intervalStartTimeIso": plan.iso(window.start),
            "intervalEndTimeIso": plan.iso(window.end),
        }
    )


def _at(ms: Any) -> Any:
    from datetime import datetime

    if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms > 0:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    return None


class KayentaCanaryStage(StageDefinition):
    type = "kayentaCanary"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [TaskSpec("aggregateCanaryResults", f"{_ORCA}.AggregateCanaryResultsTask", run=aggregate)]

    def before_stages(self, context: JSON) -> list[SyntheticStage]:
        try:
            settings, count, interval = _planned(context)
        except plan.PlanError:
            return []  # aggregateCanaryResults fails the stage with the message naming the field
        stages = kayenta_deploy.deploy_stages(context)
        if settings.warmup_mins > 0:
            stages.append(SyntheticStage("wait", "Warmup Wait", {"waitTime": settings.warmup_mins * 60}))
        base = {
            "canaryConfig": context.get("canaryConfig"),
            "canaryConfigId": settings.config_id,
            "intervalMins": interval,
            "intervalCount": count,
            "application": context.get("application"),
        }
        for i in range(1, count + 1):
            if not settings.retrospective:
                stages.append(SyntheticStage("wait", f"Interval Wait #{i}", {"waitTime": interval * 60}))
            run = {**base, "intervalIndex": i}
            if kayenta_deploy.pairs(context):
                # a failed interval must not halt the stage before its cleanup (the engine runs on-failure stages
                # only after the stage's own tasks): the interval fails "continuing", later ones are skipped, and
                # aggregateCanaryResults fails the stage
                run["continuePipeline"] = True
            stages.append(SyntheticStage("runCanary", f"Run Canary #{i}", run))
        return stages

    def after_stages(self, context: JSON) -> list[SyntheticStage]:
        return kayenta_deploy.cleanup_stages(context)

    def on_failure_stages(self, context: JSON) -> list[SyntheticStage]:
        return kayenta_deploy.cleanup_stages(context)

    def mutates_accounts(self, context: JSON) -> list[str]:
        return kayenta_deploy.mutated_accounts(context)


class RunCanaryStage(StageDefinition):
    """One interval: [resolveKayentaConfigId] → planCanaryInterval → runCanary → monitorCanary (polls every
    second, 12 h at most; canceling the stage cancels the canary run)."""

    type = "runCanary"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        from datetime import timedelta

        relative = ((context.get("canaryConfig") or {}).get("scopes") or [{}])[0].get("window")
        tasks = []
        if not context.get("canaryConfigId"):
            tasks.append(
                TaskSpec("resolveKayentaConfigId", f"{_ORCA}.ResolveKayentaConfigIdTask", activity=RESOLVE_CONFIG)
            )
        tasks += [
            TaskSpec("planCanaryInterval", f"{_ORCA}.PlanCanaryIntervalTask", run=plan_interval,
                     needs_execution=bool(relative and " stage " in f" {relative} ")),
            TaskSpec("runCanary", f"{_ORCA}.RunKayentaCanaryTask", activity=START_CANARY),
            TaskSpec("monitorCanary", f"{_ORCA}.MonitorKayentaCanaryTask", activity=MONITOR_CANARY, polling=True,
                     backoff=timedelta(seconds=1), timeout=timedelta(hours=12), on_cancel=CANCEL_CANARY),
        ]  # fmt: skip
        return tasks
