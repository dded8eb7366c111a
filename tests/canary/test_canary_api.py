"""Canary configs and runs through Gate's HTTP API, on the real stack: the Temporal dev server, a worker, the store
and Debian's Prometheus loaded with known series."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.worker import Replayer

from tests.canary.prometheus_server import END_ISO, START_ISO
from tests.conftest import Gate
from workflows.all import WORKFLOWS, workflow_runner

pytestmark = pytest.mark.temporal

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
    "somethingKayentaAdds": {"kept": True},
}  # fmt: skip


def _request(experiment: str) -> dict[str, Any]:
    def scope(name: str) -> dict[str, Any]:
        return {"scope": name, "location": "", "start": START_ISO, "end": END_ISO, "step": 10}

    return {
        "scopes": {"default": {"controlScope": scope("baseline"), "experimentScope": scope(experiment)}},
        "thresholds": {"pass": 75, "marginal": 50},
    }


async def _finished(temporal_env: Any, run_id: str) -> None:
    """Wait for the run's workflow to close (Temporal's answer, not a poll loop)."""
    await temporal_env.client.get_workflow_handle(run_id).result()


async def test_equal_series_pass_and_half_again_the_errors_fail(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        created = await http.post("/v2/canaryConfig", json=CONFIG)
        assert created.status_code == 200, created.text
        config_id = created.json()["canaryConfigId"]
        listed = (await http.get("/v2/canaryConfig", params={"application": "shop"})).json()
        assert [c["id"] for c in listed] == [config_id]
        stored = (await http.get(f"/v2/canaryConfig/{config_id}")).json()
        assert stored["somethingKayentaAdds"] == {"kept": True} and stored["createdTimestampIso"].endswith("Z")

        results = {}
        for build in ("canary-good", "canary-bad"):
            started = await http.post(
                f"/v2/canaries/canary/{config_id}",
                params={"application": "shop", "parentPipelineExecutionId": "01PARENT"},
                json=_request(build),
            )
            assert started.status_code == 200, started.text
            run_id = started.json()["canaryExecutionId"]
            await _finished(temporal_env, run_id)
            results[build] = (await http.get(f"/v2/canaries/canary/{run_id}")).json()
            described = await temporal_env.client.get_workflow_handle(run_id).describe()
            assert await described.static_summary() == "canary shop-errors for shop: 1 metrics"  # the Web UI's line

        good, bad = results["canary-good"], results["canary-bad"]
        assert good["complete"] is True and good["status"] == "succeeded", good.get("exception")
        assert good["parentPipelineExecutionId"] == "01PARENT" and good["canaryConfigId"] == config_id
        assert good["result"]["canaryDuration"] == "PT1H"
        judged = good["result"]["judgeResult"]
        assert judged["score"] == {"score": 100.0, "classification": "Pass", "classificationReason": ""}
        assert judged["results"][0]["classification"] == "Pass"
        assert judged["results"][0]["controlMetadata"]["stats"]["count"] == 361
        assert good["stageStatus"] == {"setupContext": "succeeded", "fetchControl0": "succeeded",
                                       "fetchExperiment0": "succeeded", "mixMetrics": "succeeded",
                                       "judge": "succeeded"}  # fmt: skip
        assert good["warnings"] == []

        judged = bad["result"]["judgeResult"]
        assert judged["score"]["classification"] == "Fail" and judged["score"]["score"] == 0.0
        assert judged["results"][0]["classification"] == "High"
        assert judged["results"][0]["resultMetadata"]["ratio"] == pytest.approx(1.5, abs=0.05)
        assert judged["groupScores"][0]["name"] == "errors"

        pairs = (await http.get(f"/v2/canaries/metricSetPairList/{bad['metricSetPairListId']}")).json()
        assert len(pairs) == 1 and pairs[0]["name"] == "error rate"
        assert len(pairs[0]["values"]["control"]) == len(pairs[0]["values"]["experiment"]) == 361
        assert pairs[0]["attributes"]["experiment"]["query"] == 'avg(shop_error_rate{build="canary-bad",app="shop"})'

        runs = (await http.get("/v2/canaries/shop/executions")).json()
        assert {r["pipelineId"] for r in runs} == {good["pipelineId"], bad["pipelineId"]}

    # the workflow is deterministic: both histories replay on the current code
    for run_id in (good["pipelineId"], bad["pipelineId"]):
        history = await temporal_env.client.get_workflow_handle(run_id).fetch_history()
        replayed = await Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner()).replay_workflow(history)
        assert replayed.replay_failure is None


async def test_a_query_that_cannot_be_built_ends_the_run_terminal(canary_gate: Gate, temporal_env: Any) -> None:
    config = {**CONFIG, "metrics": [{**CONFIG["metrics"][0], "query": {"metricName": "shop_error_rate"}}]}
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        body = {"canaryConfig": config, "executionRequest": _request("canary-good")}
        started = await http.post("/v2/canaries/canary", params={"application": "shop"}, json=body)
        assert started.status_code == 200, started.text
        run_id = started.json()["canaryExecutionId"]
        await _finished(temporal_env, run_id)
        status = (await http.get(f"/v2/canaries/canary/{run_id}")).json()
    assert status["complete"] is True and status["status"] == "terminal"
    assert "Either a resource type or a custom filter is required." in status["exception"]["details"]["error"]
    assert "result" not in status


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({**CONFIG, "name": ""}, "Canary config must specify a name.", "name"),
        ({**CONFIG, "applications": []}, "Canary config must specify at least one application.", "applications"),
        ({**CONFIG, "name": "a b"}, "Names must contain only letters, numbers, dashes (-) and underscores", "name"),
        ({**CONFIG, "metrics": [{"name": "x"}, {"name": "x"}]}, "Metric config name must be unique. 'x' is duplicated.",
         "metrics"),
    ],
)  # fmt: skip
def test_config_validation_names_the_field(canary_gate: Gate, body: Any, message: str, field: str) -> None:
    answer = httpx.post(f"{canary_gate.url}/v2/canaryConfig", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["message"] and answer.json()["field"] == field


def test_configs_crud_and_run_requests_are_checked(canary_gate: Gate) -> None:
    url = canary_gate.url
    config_id = httpx.post(f"{url}/v2/canaryConfig", json=CONFIG).json()["canaryConfigId"]
    again = httpx.post(f"{url}/v2/canaryConfig", json=CONFIG)
    assert (
        again.status_code == 400 and "already exists in the scope of applications ['shop']" in again.json()["message"]
    )
    same_id = httpx.post(f"{url}/v2/canaryConfig", json={**CONFIG, "id": config_id, "name": "other"})
    assert same_id.status_code == 400 and f"Canary config '{config_id}' already exists." in same_id.json()["message"]
    updated = httpx.put(f"{url}/v2/canaryConfig/{config_id}", json={**CONFIG, "description": "v2"})
    assert updated.json() == {"canaryConfigId": config_id}
    assert httpx.get(f"{url}/v2/canaryConfig/{config_id}").json()["description"] == "v2"
    missing = httpx.put(f"{url}/v2/canaryConfig/nope", json=CONFIG)
    assert missing.status_code == 400 and missing.json()["message"] == "Canary config 'nope' does not exist."

    no_thresholds = {"scopes": _request("x")["scopes"]}
    answer = httpx.post(f"{url}/v2/canaries/canary/{config_id}", json=no_thresholds)
    assert answer.status_code == 400 and answer.json()["field"] == "thresholds"
    wrong_scope = {**_request("x"), "scopes": {"other": _request("x")["scopes"]["default"]}}
    answer = httpx.post(f"{url}/v2/canaries/canary/{config_id}", json=wrong_scope)
    assert answer.status_code == 400 and "['default']" in answer.json()["message"]
    answer = httpx.post(f"{url}/v2/canaries/canary/{config_id}", params={"metricsAccountName": "nope"},
                        json=_request("x"))  # fmt: skip
    assert answer.status_code == 400 and answer.json()["field"] == "metricsAccountName"
    judge = {**CONFIG, "judge": {"name": "NoSuchJudge"}}
    answer = httpx.post(f"{url}/v2/canaries/canary", json={"canaryConfig": judge, "executionRequest": _request("x")})
    assert answer.status_code == 400 and "Unable to resolve canary judge 'NoSuchJudge'" in answer.json()["message"]
    assert httpx.post(f"{url}/v2/canaries/canary/unknown", json=_request("x")).status_code == 404
    assert httpx.get(f"{url}/v2/canaries/canary/unknown").status_code == 404
    assert httpx.get(f"{url}/v2/canaries/metricSetPairList/unknown").status_code == 404

    assert httpx.delete(f"{url}/v2/canaryConfig/{config_id}").status_code == 204
    assert httpx.get(f"{url}/v2/canaryConfig/{config_id}").status_code == 404
    assert httpx.get(f"{url}/v2/canaryConfig", params={"application": "shop"}).json() == []


def test_accounts_judges_and_metadata(canary_gate: Gate) -> None:
    url = canary_gate.url
    accounts = httpx.get(f"{url}/v2/canaries/credentials").json()
    assert accounts[0] == {"name": "prom", "type": "prometheus", "supportedTypes": ["METRICS_STORE"],
                           "locations": [], "recommendedLocations": []}  # fmt: skip
    judges = httpx.get(f"{url}/v2/canaries/judges").json()
    assert {"name": "NetflixACAJudge-v1.0", "visible": True} in judges
    names = httpx.get(f"{url}/v2/canaries/metadata/metricsService", params={"filter": "shop_"}).json()
    assert names == [{"name": "shop_error_rate"}, {"name": "shop_latency_seconds"}, {"name": "shop_panics"}]
