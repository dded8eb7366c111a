"""The canary run's activities: fetch one metric for one side from Prometheus, mix the sets into pairs, judge
the pairs, record a failure. Each reads what it needs from the store by run id and writes what it produced
there, returning only ids and counts (history stays small)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from . import mixer, prometheus
from .judge import JudgeError, judge
from .request import judge_name, scope_for
from .templates import FilterTemplateError

log = logging.getLogger(__name__)

FETCH_CANARY_METRIC = "fetch_canary_metric"
MIX_CANARY_METRICS = "mix_canary_metrics"
JUDGE_CANARY = "judge_canary"
FINISH_CANARY_RUN = "finish_canary_run"


@dataclass
class FetchCanaryMetricInput:
    run_id: str
    metric_index: int
    side: str  # "control" | "experiment"


@dataclass
class FetchCanaryMetricResult:
    metric_set_list_id: str
    series: int
    points: int


@dataclass
class MixCanaryMetricsInput:
    run_id: str
    control_ids: list[str]
    experiment_ids: list[str]


@dataclass
class MixCanaryMetricsResult:
    metric_set_pair_list_id: str
    pairs: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class JudgeCanaryInput:
    run_id: str
    metric_set_pair_list_id: str


@dataclass
class JudgeCanaryResult:
    score: float
    classification: str


@dataclass
class FinishCanaryRunInput:
    run_id: str
    status: str  # TERMINAL | CANCELED
    exception: str | None = None
    stage: str | None = None


@dataclass
class FinishCanaryRunResult:
    status: str


def stage_name(side: str, index: int) -> str:
    """Kayenta's refIds: ``fetchControl0``, ``fetchExperiment0``, …"""
    return f"fetch{side.capitalize()}{index}"


def _bad(message: str) -> ApplicationError:
    return ApplicationError(message, type="CanaryRequestError", non_retryable=True)


class CanaryActivities:
    """Built by the worker with the settings (metrics accounts) and the store."""

    def __init__(self, settings: Any, store: Any) -> None:

        self.settings = settings
        self.store = store.canary

    def _account(self, name: str | None) -> dict[str, Any]:
        try:
            return self.settings.canary.account(name).connection()  # type: ignore[no-any-return]
        except LookupError as err:
            raise _bad(str(err)) from None

    @activity.defn(name=FETCH_CANARY_METRIC)
    def fetch_canary_metric(self, inp: FetchCanaryMetricInput) -> FetchCanaryMetricResult:
        run = self.store.get_run(inp.run_id)
        config, request = run["config"], run["canaryExecutionRequest"]
        metric = config["metrics"][inp.metric_index]
        account = self._account(run.get("metricsAccountName"))
        scope = scope_for(request, metric, inp.side)
        try:
            query = prometheus.build_query(config, metric, scope, account.get("scope_label") or "instance")
            body = prometheus.query_range(account, query, scope)
        except (prometheus.QueryError, FilterTemplateError) as err:
            raise _bad(f"{metric.get('name')}: {err}") from None
        except prometheus.PrometheusError as err:
            if err.retryable:
                raise
            raise _bad(f"{metric.get('name')}: {err}") from None
        sets = prometheus.to_metric_sets(body, str(metric.get("name")), query, scope)
        list_id = self.store.save_metric_sets(inp.run_id, "metricSetList", sets)
        self.store.update_run(inp.run_id, {"stageStatus": {stage_name(inp.side, inp.metric_index): "succeeded"}})
        points = sum(sum(1 for v in s["values"] if not math.isnan(v)) for s in sets)
        return FetchCanaryMetricResult(list_id, len(sets), points)

    @activity.defn(name=MIX_CANARY_METRICS)
    def mix_canary_metrics(self, inp: MixCanaryMetricsInput) -> MixCanaryMetricsResult:
        run = self.store.get_run(inp.run_id)

        def load(ids: list[str]) -> list[dict[str, Any]]:
            return [
                {**s, "values": [math.nan if v is None else v for v in s["values"]]}
                for i in ids
                for s in self.store.get_metric_sets(i, "metricSetList")
            ]

        try:
            pairs = mixer.mix_all(run["config"]["metrics"], load(inp.control_ids), load(inp.experiment_ids))
        except mixer.MixError as err:
            raise _bad(str(err)) from None
        warnings = mixer.warnings(run["config"], pairs)
        pair_list_id = self.store.save_metric_sets(inp.run_id, "metricSetPairList", pairs)
        self.store.update_run(
            inp.run_id,
            {"stageStatus": {"mixMetrics": "succeeded"}, "metricSetPairListId": pair_list_id, "warnings": warnings},
        )
        return MixCanaryMetricsResult(pair_list_id, len(pairs), [w["message"] for w in warnings])

    @activity.defn(name=JUDGE_CANARY)
    def judge_canary(self, inp: JudgeCanaryInput) -> JudgeCanaryResult:
        from core.store.canary import iso, now_ms

        run = self.store.get_run(inp.run_id)
        pairs = self.store.get_metric_sets(inp.metric_set_pair_list_id, "metricSetPairList")
        config = run["config"]
        name = judge_name(config)
        try:
            result = judge(config, run["canaryExecutionRequest"]["thresholds"], pairs, name)
        except JudgeError as err:
            raise _bad(str(err)) from None
        end = now_ms()
        self.store.update_run(
            inp.run_id,
            {
                "stageStatus": {"judge": "succeeded"},
                "status": "SUCCEEDED",
                "endTimeMillis": end,
                "endTimeIso": iso(end),
            },
            result=result,
        )
        return JudgeCanaryResult(result["score"]["score"], result["score"]["classification"])

    @activity.defn(name=FINISH_CANARY_RUN)
    def finish_canary_run(self, inp: FinishCanaryRunInput) -> FinishCanaryRunResult:
        from core.store.canary import iso, now_ms

        end = now_ms()
        changes: dict[str, Any] = {"status": inp.status, "endTimeMillis": end, "endTimeIso": iso(end)}
        if inp.exception:  # Orca's exception shape, as Kayenta's stages record it
            changes["exception"] = {
                "exceptionType": "CanaryRunError",
                "shouldRetry": False,
                "timestamp": end,
                "details": {"error": inp.exception, "errors": [inp.exception], "stage": inp.stage},
            }
        if inp.stage:
            changes["stageStatus"] = {inp.stage: inp.status.lower()}
        self.store.update_run(inp.run_id, changes)
        return FinishCanaryRunResult(inp.status)


def build(settings: Any, store: Any) -> list[Callable[..., Any]]:
    """The canary activities for a worker."""
    canary = CanaryActivities(settings, store)
    return [canary.fetch_canary_metric, canary.mix_canary_metrics, canary.judge_canary, canary.finish_canary_run]
