"""Shared pieces of the kayentaCanary stage tests: the config on the test Prometheus, a stage, running a pipeline
through Gate and waiting for the engine's answer."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
from temporalio.client import WorkflowFailureError

from tests.canary.prometheus_server import END_ISO, START_ISO

CONFIG: dict[str, Any] = {
    "name": "shop-errors",
    "applications": ["shop"],
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "metrics": [
        {
            "name": "error rate",
            "query": {"type": "prometheus", "metricName": "shop_error_rate", "labelBindings": ['app="shop"'],
                      "customInlineTemplate": 'build="${scope}"'},
            "groups": ["errors"],
            "analysisConfigurations": {"canary": {"direction": "increase"}},
            "scopeName": "default",
        }
    ],
    "classifier": {"groupWeights": {"errors": 100}},
}  # fmt: skip


def canary_stage(experiment: str, ref: str = "1", **config: Any) -> dict[str, Any]:
    """A retrospective kayentaCanary over the hour the test Prometheus holds, in two 30-minute intervals."""
    scope = {"scopeName": "default", "controlScope": "baseline", "experimentScope": experiment,
             "startTimeIso": START_ISO, "endTimeIso": END_ISO, "step": 10}  # fmt: skip
    body = {
        "canaryConfigName": "shop-errors",
        "scopes": [scope],
        "scoreThresholds": {"pass": 75, "marginal": 50},
        "canaryAnalysisIntervalMins": 30,
        "metricsAccountName": "prom",
        **config,
    }
    return {"refId": ref, "type": "kayentaCanary", "name": "Canary Analysis", "analysisType": "retrospective",
            "canaryConfig": body}  # fmt: skip


async def create_config(http: httpx.AsyncClient, config: dict[str, Any] | None = None) -> str:
    created = await http.post("/v2/canaryConfig", json=config or CONFIG)
    assert created.status_code == 200, created.text
    return str(created.json()["canaryConfigId"])


async def start(http: httpx.AsyncClient, name: str, stages: list[dict[str, Any]]) -> str:
    saved = await http.post("/pipelines", json={"application": "shop", "name": name, "stages": stages})
    assert saved.status_code == 200, saved.text
    started = await http.post(f"/pipelines/shop/{name}", json={})
    assert started.status_code in (200, 202), started.text
    return str(started.json()["ref"]).split("/")[-1]


async def finished(temporal_env: Any, http: httpx.AsyncClient, execution_id: str) -> dict[str, Any]:
    """Wait for the pipeline's workflow to close (Temporal's answer), then read the execution from Gate."""
    with contextlib.suppress(WorkflowFailureError):
        await temporal_env.client.get_workflow_handle(execution_id).result()
    body: dict[str, Any] = (await http.get(f"/pipelines/{execution_id}")).json()
    return body


def stages_of(execution: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [s for s in execution["stages"] if s["type"] == type_]
