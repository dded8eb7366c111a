"""``CanaryRun``: one canary execution as a Temporal workflow (Kayenta's "Standard Canary Pipeline"): fetch the
control and the experiment of every metric (activities, in parallel), mix them into pairs, judge. Inputs and
results carry ids and counts only; the sets, pairs and the judgement live in the store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from .activities import (
        FETCH_CANARY_METRIC,
        FINISH_CANARY_RUN,
        JUDGE_CANARY,
        MIX_CANARY_METRICS,
        FetchCanaryMetricInput,
        FetchCanaryMetricResult,
        FinishCanaryRunInput,
        FinishCanaryRunResult,
        JudgeCanaryInput,
        JudgeCanaryResult,
        MixCanaryMetricsInput,
        MixCanaryMetricsResult,
        stage_name,
    )

WORKFLOW_NAME = "CanaryRun"
_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))
_TIMEOUT = timedelta(minutes=5)


@dataclass
class CanaryRunInput:
    run_id: str
    application: str
    config_name: str
    metric_names: list[str]


@dataclass
class CanaryRunResult:
    status: str  # SUCCEEDED | TERMINAL | CANCELED
    score: float | None = None
    classification: str | None = None
    metric_set_pair_list_id: str | None = None
    exception: str | None = None
    warnings: list[str] = field(default_factory=list)


def _message(err: BaseException) -> str:
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or err)


@workflow.defn(name=WORKFLOW_NAME)
class CanaryRunWorkflow:
    """Fetch (per metric and side) → mix → judge; a failure or a cancel is recorded on the run."""

    def __init__(self) -> None:
        self.stage = "setupContext"

    @workflow.run
    async def run(self, inp: CanaryRunInput) -> CanaryRunResult:
        try:
            return await self._run(inp)
        except asyncio.CancelledError:
            await self._finish(inp, "CANCELED", "the canary run was canceled")
            raise
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):  # the cancel reached a running activity first
                await self._finish(inp, "CANCELED", "the canary run was canceled")
                raise asyncio.CancelledError() from None
            message = _message(err)
            await self._finish(inp, "TERMINAL", message)
            return CanaryRunResult("TERMINAL", exception=message)

    async def _run(self, inp: CanaryRunInput) -> CanaryRunResult:
        async def fetch(index: int, side: str) -> FetchCanaryMetricResult:
            return await workflow.execute_activity(
                FETCH_CANARY_METRIC,
                FetchCanaryMetricInput(inp.run_id, index, side),
                result_type=FetchCanaryMetricResult,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=_RETRY,
                summary=f"{stage_name(side, index)}: {inp.metric_names[index]}",
            )

        self.stage = "fetch"
        sides = [(i, side) for i in range(len(inp.metric_names)) for side in ("control", "experiment")]
        fetched = await asyncio.gather(*(fetch(i, side) for i, side in sides))
        control = [r.metric_set_list_id for (_, side), r in zip(sides, fetched, strict=True) if side == "control"]
        experiment = [r.metric_set_list_id for (_, side), r in zip(sides, fetched, strict=True) if side != "control"]
        self.stage = "mixMetrics"
        mixed = await workflow.execute_activity(
            MIX_CANARY_METRICS,
            MixCanaryMetricsInput(inp.run_id, control, experiment),
            result_type=MixCanaryMetricsResult,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
            summary=f"pair {len(inp.metric_names)} metrics",
        )
        self.stage = "judge"
        judged = await workflow.execute_activity(
            JUDGE_CANARY,
            JudgeCanaryInput(inp.run_id, mixed.metric_set_pair_list_id),
            result_type=JudgeCanaryResult,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
            summary=f"judge {mixed.pairs} metric pairs",
        )
        return CanaryRunResult(
            "SUCCEEDED", judged.score, judged.classification, mixed.metric_set_pair_list_id, None, mixed.warnings
        )

    async def _finish(self, inp: CanaryRunInput, status: str, message: str) -> None:
        stage = None if self.stage == "fetch" else self.stage
        await workflow.execute_activity(
            FINISH_CANARY_RUN,
            FinishCanaryRunInput(inp.run_id, status, message, stage),
            result_type=FinishCanaryRunResult,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=10),
            summary=f"record {status.lower()}",
        )
