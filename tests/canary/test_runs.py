"""Runs through the Python API the kayentaCanary stage uses (``canary.runs``): the zero-inflated judge on a real
run, warnings on the status, cancelling, judging stored pairs again with another config."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError

from canary.judge import ZERO_INFLATED
from canary.runs import RunRequest, cancel_run, get_status, rejudge, start_run
from tests.canary.prometheus_server import END_ISO, START_ISO
from tests.conftest import Gate

pytestmark = pytest.mark.temporal


def _metric(name: str, metric: str, **query: Any) -> dict[str, Any]:
    return {
        "name": name,
        "query": {"type": "prometheus", "metricName": metric, "customInlineTemplate": 'build="${scope}"', **query},
        "groups": ["g"],
        "analysisConfigurations": {"canary": {"direction": "increase"}},
        "scopeName": "default",
    }


def _request(control: str, experiment: str) -> dict[str, Any]:
    def scope(name: str) -> dict[str, Any]:
        return {"scope": name, "location": "", "start": START_ISO, "end": END_ISO, "step": 10}

    return {
        "scopes": {"default": {"controlScope": scope(control), "experimentScope": scope(experiment)}},
        "thresholds": {"pass": 75, "marginal": 50},
    }


async def _run(gate: Gate, client: Any, config: dict[str, Any], experiment: str, **kw: Any) -> dict[str, Any]:
    run_id = await start_run(client, gate.store, gate.settings, RunRequest(config, _request("baseline", experiment),
                                                                            "shop", **kw))  # fmt: skip
    await client.get_workflow_handle(run_id).result()
    return await asyncio.to_thread(get_status, gate.store, run_id)


async def test_errors_where_the_baseline_has_none(canary_gate: Gate, temporal_env: Any) -> None:
    """v1.0 passes a canary with sparse errors against a clean baseline; the zero-inflated judge fails it."""
    config = {"name": "panics", "metrics": [_metric("panics", "shop_panics")]}
    v1 = await _run(canary_gate, temporal_env.client, config, "canary-sparse")
    assert v1["result"]["judgeResult"]["score"]["classification"] == "Pass"
    config = {**config, "judge": {"name": ZERO_INFLATED, "judgeConfigurations": {}}}
    fixed = await _run(canary_gate, temporal_env.client, config, "canary-sparse")
    judged = fixed["result"]["judgeResult"]
    assert judged["judgeName"] == ZERO_INFLATED
    assert judged["results"][0]["classification"] == "High"
    assert judged["score"]["classification"] == "Fail"

    # the same pairs judged again with another config: no metrics fetched, v1.0's answer
    again = await asyncio.to_thread(
        rejudge, canary_gate.store, fixed["metricSetPairListId"], {**config, "judge": {}}, {"pass": 75, "marginal": 50}
    )
    assert again["judgeName"] == "NetflixACAJudge-v1.0"
    assert again["score"]["classification"] == "Pass"


async def test_unpaired_labels_are_warned_on_the_status(canary_gate: Gate, temporal_env: Any) -> None:
    config = {"name": "latency", "metrics": [_metric("latency", "shop_latency_seconds", groupByFields=["pod"])]}
    status = await _run(canary_gate, temporal_env.client, config, "canary-good")
    assert status["status"] == "succeeded"
    assert [w["kind"] for w in status["warnings"]] == ["unpaired", "unpaired"]
    assert {r["classification"] for r in status["result"]["judgeResult"]["results"]} == {"Nodata"}
    assert status["result"]["judgeResult"]["score"]["score"] == 0.0  # 100 % Nodata fails, as in Kayenta


async def test_cancel_records_canceled(canary_gate: Gate, temporal_env: Any) -> None:
    settings = canary_gate.settings
    config = {"name": "hangs", "metrics": [_metric("errors", "shop_error_rate")]}
    run_id = await start_run(temporal_env.client, canary_gate.store, settings, RunRequest(
        config, _request("baseline", "canary-good"), "shop", metrics_account_name="hangs"))  # fmt: skip
    handle = temporal_env.client.get_workflow_handle(run_id)
    async for event in handle.fetch_history_events(wait_new_event=True):
        if event.HasField("activity_task_scheduled_event_attributes"):
            break  # a fetch is asked for (its start is recorded only once it ends, as it may retry)
    await cancel_run(temporal_env.client, run_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, CancelledError)
    status = await asyncio.to_thread(get_status, canary_gate.store, run_id)
    assert status["status"] == "canceled" and status["complete"] is True, status.get("exception")
    assert "result" not in status


async def test_a_terminated_workflow_is_recorded_terminal_when_read(canary_gate: Gate, temporal_env: Any) -> None:
    """Terminated in Temporal (no chance to record it): the status read through Gate settles it."""
    config = {"name": "hangs", "metrics": [_metric("errors", "shop_error_rate")]}
    run = RunRequest(config, _request("baseline", "canary-good"), "shop", metrics_account_name="hangs")
    run_id = await start_run(temporal_env.client, canary_gate.store, canary_gate.settings, run)
    handle = temporal_env.client.get_workflow_handle(run_id)
    await handle.terminate(reason="operator")
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        status = (await http.get(f"/v2/canaries/canary/{run_id}")).json()
    assert status["status"] == "terminal" and status["complete"] is True
    assert (
        status["exception"]["details"]["error"] == "the CanaryRun workflow ended TERMINATED without recording a result"
    )
    assert (await asyncio.to_thread(get_status, canary_gate.store, run_id))["status"] == "terminal"


async def test_a_run_temporal_cannot_start_is_recorded_terminal(canary_gate: Gate, temporal_env: Any) -> None:
    """No half-written run: when the workflow cannot start (here: a namespace the server does not have), the
    recorded run ends terminal with the reason."""
    nowhere = await Client.connect(temporal_env.client.service_client.config.target_host, namespace="no-such-ns")
    config = {"name": "errors", "metrics": [_metric("errors", "shop_error_rate")]}
    with pytest.raises(RPCError):
        await start_run(nowhere, canary_gate.store, canary_gate.settings,
                        RunRequest(config, _request("baseline", "canary-good"), "shop-nowhere"))  # fmt: skip
    [recorded] = await asyncio.to_thread(canary_gate.store.canary.list_runs, "shop-nowhere")
    assert recorded["status"] == "TERMINAL"
    assert "could not be started" in recorded["exception"]["details"]["error"]
