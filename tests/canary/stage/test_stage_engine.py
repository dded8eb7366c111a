"""The kayentaCanary stage through the real engine (Temporal dev server, a worker, the store) against Debian's
Prometheus loaded with known series: equal series pass, 50 % more errors fail fast, continuePipeline, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.canary.stage.helpers import canary_stage, create_config, finished, stages_of, start
from tests.conftest import Gate

pytestmark = pytest.mark.temporal


async def test_equal_series_pass_in_two_intervals(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        config_id = await create_config(http)
        execution = await finished(temporal_env, http, await start(http, "good", [canary_stage("canary-good")]))
        assert execution["status"] == "SUCCEEDED", execution
        [stage] = stages_of(execution, "kayentaCanary")
        runs = stages_of(execution, "runCanary")
        assert [s["name"] for s in runs] == ["Run Canary #1", "Run Canary #2"]
        assert all(s["parentStageId"] == stage["id"] for s in runs)
        assert stage["outputs"]["canaryScores"] == [100.0, 100.0]
        assert "met or exceeded the pass score threshold 75" in stage["context"]["canaryScoreMessage"]
        # Orca's retrospective windows grow from the first scope's start: [S, S + i·I]
        windows = [(s["context"]["intervalStartTimeIso"], s["context"]["intervalEndTimeIso"]) for s in runs]
        assert windows == [("2025-01-01T00:00:00.000Z", "2025-01-01T00:30:00.000Z"),
                           ("2025-01-01T00:00:00.000Z", "2025-01-01T01:00:00.000Z")]  # fmt: skip
        assert [t["name"] for t in runs[0]["tasks"]] == [
            "resolveKayentaConfigId", "planCanaryInterval", "runCanary", "monitorCanary"]  # fmt: skip
        assert runs[0]["context"]["canaryConfigId"] == config_id
        run_id = runs[1]["context"]["canaryPipelineExecutionId"]
        status = (await http.get(f"/v2/canaries/canary/{run_id}")).json()
        assert status["parentPipelineExecutionId"] == execution["id"] and status["status"] == "succeeded"
        assert status["canaryExecutionRequest"]["scopes"]["default"]["experimentScope"]["scope"] == "canary-good"


async def test_half_again_the_errors_fail_fast(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        await create_config(http)
        execution = await finished(temporal_env, http, await start(http, "bad", [canary_stage("canary-bad")]))
        assert execution["status"] == "TERMINAL"
        [stage] = stages_of(execution, "kayentaCanary")
        assert stage["status"] == "TERMINAL"
        runs = stages_of(execution, "runCanary")
        assert [s["name"] for s in runs] == ["Run Canary #1"]  # the second interval never ran
        assert runs[0]["status"] == "TERMINAL" and runs[0]["context"]["canaryScore"] == 0
        assert "not above the marginal score threshold 50" in stage["context"]["exception"]["details"]["error"]


async def test_continue_pipeline_lets_the_pipeline_go_on(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        await create_config(http)
        stage = {**canary_stage("canary-bad"), "continuePipeline": True, "failPipeline": False}
        after = {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "after", "waitTime": 0}
        execution = await finished(temporal_env, http, await start(http, "going-on", [stage, after]))
        assert execution["status"] == "SUCCEEDED"
        assert stages_of(execution, "kayentaCanary")[0]["status"] == "FAILED_CONTINUE"
        assert [s["status"] for s in stages_of(execution, "wait")] == ["SUCCEEDED"]


async def test_a_config_name_that_matches_nothing_fails_naming_the_field(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        execution = await finished(temporal_env, http, await start(http, "nameless", [canary_stage("canary-good")]))
        assert execution["status"] == "TERMINAL"
        [run] = stages_of(execution, "runCanary")
        assert (
            "canaryConfig.canaryConfigName: no canary config(s) named 'shop-errors'"
            in (run["context"]["exception"]["details"]["error"])
        )


async def _running_canary(http: httpx.AsyncClient, name: str) -> tuple[str, str]:
    """Start a pipeline whose canary run hangs (a metrics store that never answers); its execution and run ids."""
    await create_config(http)
    execution_id = await start(http, name, [canary_stage("canary-good", metricsAccountName="hangs")])
    for _ in range(600):  # follow the execution until the interval's canary run exists
        body = (await http.get(f"/pipelines/{execution_id}")).json()
        runs = stages_of(body, "runCanary") if body.get("stages") else []
        run_id = runs[0]["context"].get("canaryPipelineExecutionId") if runs else None
        if run_id:
            return execution_id, str(run_id)
        await asyncio.sleep(0.1)
    raise AssertionError("the canary run never started")


async def test_a_run_terminated_in_temporal_fails_its_interval(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        execution_id, run_id = await _running_canary(http, "terminated")
        await temporal_env.client.get_workflow_handle(run_id).terminate("an operator stopped it")
        execution = await finished(temporal_env, http, execution_id)
        assert execution["status"] == "TERMINAL"
        [run] = stages_of(execution, "runCanary")
        assert f"Canary run {run_id} ended terminal" in run["context"]["exception"]["details"]["error"]


async def test_cancel_cancels_the_running_canary_run(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        execution_id, run_id = await _running_canary(http, "hanging")
        assert (await http.put(f"/pipelines/{execution_id}/cancel")).status_code in (200, 202, 204)
        execution = await finished(temporal_env, http, execution_id)
        assert execution["status"] == "CANCELED"
        with pytest.raises(Exception):  # noqa: B017 - the run's workflow ends canceled
            await temporal_env.client.get_workflow_handle(run_id).result()
        status = (await http.get(f"/v2/canaries/canary/{run_id}")).json()
        assert status["status"] == "canceled" and status["complete"] is True


async def test_a_relative_window_ends_at_a_named_upstream_stage(canary_gate: Gate, temporal_env: Any) -> None:
    """`last 60m ending <gap> before stage Deploy`: the window is placed from the Deploy stage's recorded end."""
    from datetime import UTC, datetime

    from tests.canary.prometheus_server import END_ISO

    end = datetime.fromisoformat(END_ISO.replace("Z", "+00:00"))
    gap = (datetime.now(UTC) - end).total_seconds() / 60  # Deploy ends a moment later: the window ends just after END
    stage = canary_stage("canary-good")
    scope = stage["canaryConfig"]["scopes"][0]
    del scope["startTimeIso"], scope["endTimeIso"]
    scope["window"] = f"last 60m ending {gap:.4f}m before stage Deploy"
    deploy = {"refId": "0", "type": "wait", "name": "Deploy", "waitTime": 0}
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        await create_config(http)
        execution = await finished(
            temporal_env, http, await start(http, "relative", [deploy, {**stage, "requisiteStageRefIds": ["0"]}])
        )
    assert execution["status"] == "SUCCEEDED", execution
    runs = stages_of(execution, "runCanary")
    deploy_end = next(s for s in execution["stages"] if s["name"] == "Deploy")["endTime"]
    ends = [datetime.fromisoformat(s["context"]["intervalEndTimeIso"].replace("Z", "+00:00")) for s in runs]
    starts = {s["context"]["intervalStartTimeIso"] for s in runs}
    assert len(starts) == 1 and (ends[1] - ends[0]).total_seconds() == 1800
    expected_end = deploy_end / 1000 - gap * 60
    assert abs(ends[1].timestamp() - expected_end) < 0.05
    assert 0 <= (ends[1] - end).total_seconds() < 60
    assert [t["name"] for t in runs[0]["tasks"]][1] == "planCanaryInterval"
