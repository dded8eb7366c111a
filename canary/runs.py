"""The Python API of canary runs, used by Gate's routes and by the kayentaCanary stage (K2's activities):

- ``prepare_run(store, settings, RunRequest)`` checks a Kayenta CanaryExecutionRequest against its config,
  records the run (status RUNNING) and returns the ``CanaryRunInput`` of the ``CanaryRun`` workflow, whose
  workflow id is the run id (``canaryExecutionId``); start it yourself (e.g. as a child workflow) or
- ``start_run(client, store, settings, RunRequest)`` does both and returns the run id;
- ``get_status(store, run_id)`` answers Kayenta's CanaryExecutionStatusResponse (``complete``, ``status``,
  ``result.judgeResult``, ``exception``, ``warnings``); ``settle(client, store, run_id)`` does too, after
  recording as terminal a run whose workflow was terminated or timed out in Temporal;
- ``cancel_run(client, run_id)`` cancels the workflow (the run is recorded CANCELED);
- ``rejudge(store, pair_list_id, config, thresholds, judge_name=None)`` judges stored metric-set pairs again with
  another config (no metrics are fetched): what backtesting needs.

All of these do I/O (store, Temporal): call them from the API or from activities, never from workflow code.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from .judge import judge
from .request import RequestError, check, status_response
from .request import judge_name as config_judge_name
from .workflow import WORKFLOW_NAME, CanaryRunInput, CanaryRunWorkflow

Json = dict[str, Any]

__all__ = [
    "CanaryRunInput",
    "CanaryRunWorkflow",
    "RequestError",
    "RunRequest",
    "cancel_run",
    "get_status",
    "prepare_run",
    "rejudge",
    "settle",
    "start_run",
]


@dataclass
class RunRequest:
    """One run: the config (stored or ad hoc) and Kayenta's CanaryExecutionRequest, with Gate's query params."""

    config: Json
    execution_request: Any
    application: str | None = None
    canary_config_id: str | None = None
    parent_pipeline_execution_id: str | None = None
    metrics_account_name: str | None = None
    storage_account_name: str | None = None
    configuration_account_name: str | None = None
    #: extra keys recorded on the run (e.g. the stage that asked for it)
    extra: Json = field(default_factory=dict)


def prepare_run(store: Any, settings: Any, run: RunRequest) -> CanaryRunInput:
    """Check the request (RequestError names the field), resolve the metrics account and record the run."""
    from core.ids import new_ulid
    from core.store.canary import iso, now_ms

    request = check(run.config, run.execution_request)
    try:
        account = settings.canary.account(run.metrics_account_name)
    except LookupError as err:
        raise RequestError(str(err), "metricsAccountName") from None
    run_id = new_ulid()
    now = now_ms()
    metrics = run.config.get("metrics") or []
    stages = {"setupContext": "succeeded"}
    for i in range(len(metrics)):
        stages[f"fetchControl{i}"] = "not_started"
        stages[f"fetchExperiment{i}"] = "not_started"
    stages.update({"mixMetrics": "not_started", "judge": "not_started"})
    store.canary.create_run(
        {
            **run.extra,
            "id": run_id,
            "application": run.application or "ad-hoc",
            "parentPipelineExecutionId": run.parent_pipeline_execution_id,
            "canaryConfigId": run.canary_config_id,
            "config": run.config,
            "canaryExecutionRequest": request,
            "metricsAccountName": account.name,
            "storageAccountName": run.storage_account_name or settings.canary.storage_account_name,
            "configurationAccountName": run.configuration_account_name or settings.canary.storage_account_name,
            "status": "RUNNING",
            "stageStatus": stages,
            "buildTimeMillis": now,
            "buildTimeIso": iso(now),
            "startTimeMillis": now,
            "startTimeIso": iso(now),
            "warnings": [],
        }
    )
    return CanaryRunInput(run_id, run.application or "ad-hoc", str(run.config.get("name") or "ad hoc config"),
                          [str(m.get("name")) for m in metrics])  # fmt: skip


async def start_run(client: Any, store: Any, settings: Any, run: RunRequest) -> str:
    """Record and start a run; returns its id (``canaryExecutionId``)."""
    inp = await asyncio.to_thread(prepare_run, store, settings, run)
    try:
        await _start_workflow(client, settings, inp)
    except Exception as err:
        message = f"the CanaryRun workflow could not be started: {err}"
        failed = {"status": "TERMINAL", "exception": {"exceptionType": "CanaryRunError", "shouldRetry": False,
                                                      "details": {"error": message, "errors": [message]}}}  # fmt: skip
        await asyncio.to_thread(store.canary.update_run, inp.run_id, failed)
        raise
    return inp.run_id


async def _start_workflow(client: Any, settings: Any, inp: CanaryRunInput) -> None:
    await client.start_workflow(
        WORKFLOW_NAME,
        inp,
        id=inp.run_id,
        task_queue=settings.task_queue,
        static_summary=f"canary {inp.config_name} for {inp.application}: {len(inp.metric_names)} metrics",
        static_details="Kayenta canary run: fetch control and experiment per metric, mix, judge. "
        f"GET /v2/canaries/canary/{inp.run_id} for the result.",
    )


def get_status(store: Any, run_id: str) -> Json:
    """Kayenta's CanaryExecutionStatusResponse (NotFoundError for an unknown id)."""

    return status_response(store.canary.get_run(run_id))


async def settle(client: Any, store: Any, run_id: str) -> Json:
    """The status, after recording as terminal a run whose workflow closed without saying how it ended
    (terminated or timed out in Temporal, say). A run still running, or already final, is left as it is."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError

    from core.store.canary import iso

    canary = store.canary
    run = await asyncio.to_thread(canary.get_run, run_id)
    if run.get("status") != "RUNNING":
        return status_response(run)
    try:
        described = await client.get_workflow_handle(run_id).describe()
    except RPCError:
        return status_response(run)  # Temporal not reachable or the workflow not (yet) known: as stored
    if described.status in (None, WorkflowExecutionStatus.RUNNING):
        return status_response(run)
    ended = described.status.name
    canceled = described.status == WorkflowExecutionStatus.CANCELED
    message = f"the CanaryRun workflow ended {ended} without recording a result"
    changes: Json = {
        "status": "CANCELED" if canceled else "TERMINAL",
        "exception": {"exceptionType": "CanaryRunError", "shouldRetry": False,
                      "details": {"error": message, "errors": [message]}},
    }  # fmt: skip
    if described.close_time is not None:
        millis = int(described.close_time.timestamp() * 1000)
        changes.update({"endTimeMillis": millis, "endTimeIso": iso(millis)})
    return status_response(await asyncio.to_thread(canary.update_run, run_id, changes))


async def cancel_run(client: Any, run_id: str) -> None:
    await client.get_workflow_handle(run_id).cancel()


def rejudge(store: Any, pair_list_id: str, config: Json, thresholds: Json, judge_name: str | None = None) -> Json:
    """Judge a stored metric-set-pair list again with ``config`` (and ``judge_name``, else the config's judge):
    Kayenta's ``POST /judges/judge``. Metrics of the pairs missing from the config fail with JudgeError."""

    pairs = store.canary.get_metric_sets(pair_list_id, "metricSetPairList")
    for pair in pairs:
        values = pair.get("values") or {}
        for side in ("control", "experiment"):
            values[side] = [math.nan if v is None else v for v in values.get(side) or []]
    name = judge_name or config_judge_name(config)
    return judge(config, thresholds, pairs, name)
