"""The runCanary stage's activities: resolve a config name to its id, start a canary run (``canary.runs``),
check it once per poll (MonitorKayentaCanaryTask), and cancel it when the stage is canceled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from temporalio import activity

from core.status import ExecutionStatus
from core.tasks import CANCEL_CANARY, MONITOR_CANARY, RESOLVE_CONFIG, START_CANARY, TaskInput, TaskResult

from . import runs
from . import stage_plan as plan

#: Orca warns when a metric's control has fewer points than this (orca#2299)
FEW_POINTS = 50


class CanaryStageActivities:
    """Built by the worker with the settings (metrics accounts), the store and the task queue runs start on."""

    def __init__(self, settings: Any, store: Any) -> None:
        self.settings = settings
        self.store = store

    @activity.defn(name=RESOLVE_CONFIG)
    def resolve_config_id(self, inp: TaskInput) -> TaskResult:
        """ResolveKayentaConfigIdTask: the config with this name in the execution's application, exactly one."""

        name = (inp.context.get("canaryConfig") or {}).get("canaryConfigName")
        ids = self.store.canary.config_ids_by_name(str(name), inp.application)
        if len(ids) != 1:
            found = "no" if not ids else f"{len(ids)}"
            return TaskResult.terminal(
                f"canaryConfig.canaryConfigName: {found} canary config(s) named '{name}' in application "
                f"'{inp.application}' (exactly one is needed)"
            )
        return TaskResult.succeeded(context={"canaryConfigId": ids[0]})

    @activity.defn(name=START_CANARY)
    async def start_canary(self, inp: TaskInput) -> TaskResult:
        """RunKayentaCanaryTask: start the canary run for this interval; its id goes into the context."""
        from core.store import NotFoundError

        ctx = inp.context
        if ctx.get("skipped"):
            return TaskResult(ExecutionStatus.SKIPPED)
        config_id = str(ctx.get("canaryConfigId") or "")
        settings = plan.read_settings(ctx)
        try:
            config = await asyncio.to_thread(self.store.canary.get_config, config_id)
        except NotFoundError:
            return TaskResult.terminal(f"canaryConfig.canaryConfigId: no canary config with id '{config_id}'")
        request = {"scopes": ctx["scopes"], "thresholds": ctx["scoreThresholds"],
                   "siteLocal": (ctx.get("canaryConfig") or {}).get("siteLocal") or {}}  # fmt: skip
        run = runs.RunRequest(
            config=config,
            execution_request=request,
            application=inp.application,
            canary_config_id=config_id,
            parent_pipeline_execution_id=inp.execution_id,
            metrics_account_name=settings.metrics_account,
            storage_account_name=settings.storage_account,
            extra={"parentStageId": inp.stage_id},
        )
        try:
            run_id = await runs.start_run(activity.client(), self.store, self.settings, run)
        except runs.RequestError as err:
            return TaskResult.terminal(f"{err} ({err.field})" if err.field else str(err))
        return TaskResult.succeeded(context={"canaryPipelineExecutionId": run_id})

    @activity.defn(name=MONITOR_CANARY)
    async def monitor_canary(self, inp: TaskInput) -> TaskResult:
        """MonitorKayentaCanaryTask, one check: running → poll again; succeeded → the score against marginal. A run
        whose workflow was terminated in Temporal is settled as terminal (no 12-hour wait for it)."""
        ctx = inp.context
        if ctx.get("skipped"):
            return TaskResult(ExecutionStatus.SKIPPED)
        status = await runs.settle(activity.client(), self.store, str(ctx["canaryPipelineExecutionId"]))
        now = int(time.time() * 1000)
        stamp = {"canaryPipelineStatus": str(status.get("status", "")).upper(), "lastUpdated": now,
                 "lastUpdatedIso": plan.iso(_utc(now))}  # fmt: skip
        if not status.get("complete"):
            return TaskResult(ExecutionStatus.RUNNING, context=stamp)
        if status.get("status") != "succeeded":
            exception = status.get("exception") or {}
            error = ((exception.get("details") or {}).get("error")) if isinstance(exception, dict) else None
            return TaskResult.terminal(
                f"Canary run {ctx['canaryPipelineExecutionId']} ended {status.get('status')}: {error or 'no result'}",
                context=stamp,
            )
        judged = (status.get("result") or {}).get("judgeResult") or {}
        raw = float((judged.get("score") or {}).get("score") or 0.0)
        score = plan.orca_score(raw)
        marginal = (ctx.get("scoreThresholds") or {}).get("marginal")
        passed, message = plan.interval_verdict(score, marginal)
        few = [r.get("name") for r in judged.get("results") or [] if _count(r) < FEW_POINTS]
        warnings = list(status.get("warnings") or [])
        if few:
            warnings.append(f"Fewer than {FEW_POINTS} data points in the control of: {', '.join(map(str, few))}.")
        context = {**stamp, "canaryScore": score, "canaryScoreMessage": message, "warnings": warnings,
                   "classification": (judged.get("score") or {}).get("classification")}  # fmt: skip
        if not passed:
            return TaskResult.terminal(str(message), context=context)
        return TaskResult.succeeded(context=context)

    @activity.defn(name=CANCEL_CANARY)
    async def cancel_canary(self, inp: TaskInput) -> TaskResult:
        """The stage was canceled: cancel its canary run (Orca's PUT /pipelines/{id}/cancel)."""
        run_id = inp.context.get("canaryPipelineExecutionId")
        if run_id:
            from temporalio.service import RPCError

            try:
                await runs.cancel_run(activity.client(), str(run_id))
            except RPCError as err:  # the run already ended: nothing to cancel
                activity.logger.info("canary run %s not canceled: %s", run_id, err)
        return TaskResult.succeeded()


def _count(result: dict[str, Any]) -> int:
    return int(((result.get("controlMetadata") or {}).get("stats") or {}).get("count", FEW_POINTS))


def _utc(ms: int) -> Any:
    from datetime import datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def build(settings: Any, store: Any) -> list[Callable[..., Any]]:
    """The kayentaCanary stage's activities for a worker."""
    acts = CanaryStageActivities(settings, store)
    return [acts.resolve_config_id, acts.start_canary, acts.monitor_canary, acts.cancel_canary]
