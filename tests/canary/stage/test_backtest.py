"""Backtesting over HTTP on the real stack: a config over two explicit windows (fetched, then re-judged from the
stored pairs), over the windows a kayentaCanary stage recorded, and bad requests answered 400 naming the field."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.canary.stage.helpers import CONFIG, canary_stage, create_config, finished, start
from tests.conftest import Gate

pytestmark = pytest.mark.temporal


def windows(experiment: str) -> list[dict[str, Any]]:
    return [
        {"controlScope": "baseline", "experimentScope": experiment, "startTimeIso": t0, "endTimeIso": t1, "step": 10}
        for t0, t1 in (("2025-01-01T00:00:00Z", "2025-01-01T00:30:00Z"),
                           ("2025-01-01T00:30:00Z", "2025-01-01T01:00:00Z"))
    ]  # fmt: skip


async def test_two_windows_fetched_then_rejudged_from_stored_pairs(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=60) as http:
        config_id = await create_config(http)
        first = await http.post(
            "/v2/canaries/backtest", json={"canaryConfigId": config_id, "windows": windows("canary-bad")}
        )
        assert first.status_code == 200, first.text
        rows = first.json()["windows"]
        assert [(r["source"], r["classification"], r["score"]) for r in rows] == [("fetched", "Fail", 0.0)] * 2
        assert rows[0]["metrics"][0]["classification"] == "High"
        assert first.json()["summary"] == {"Fail": 2}
        assert [r["endTimeIso"] for r in rows] == ["2025-01-01T00:30:00Z", "2025-01-01T01:00:00Z"]

        # the same windows again: judged from the pairs stored by the first backtest, nothing fetched
        body = {
            "canaryConfigId": config_id,
            "windows": windows("canary-bad"),
            "thresholds": {"pass": 75, "marginal": 50},
        }
        again = (await http.post("/v2/canaries/backtest", json=body)).json()
        assert [r["source"] for r in again["windows"]] == ["stored pairs"] * 2
        assert [r["canaryExecutionId"] for r in again["windows"]] == [r["canaryExecutionId"] for r in rows]

        # a config that no longer cares about increases: the same stored data now passes
        lenient = copy.deepcopy(CONFIG)
        lenient["metrics"][0]["analysisConfigurations"]["canary"]["direction"] = "decrease"
        judged = (
            await http.post("/v2/canaries/backtest", json={"canaryConfig": lenient, "windows": windows("canary-bad")})
        ).json()
        assert [(r["source"], r["classification"]) for r in judged["windows"]] == [("stored pairs", "Pass")] * 2


async def test_windows_recorded_by_a_kayenta_canary_stage(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=60) as http:
        config_id = await create_config(http)
        execution = await finished(temporal_env, http, await start(http, "recorded", [canary_stage("canary-good")]))
        assert execution["status"] == "SUCCEEDED"
        strict = copy.deepcopy(CONFIG)  # other queries: the recorded pairs cannot be re-used, so it fetches
        strict["metrics"][0]["query"]["labelBindings"] = ['app=~"shop"']
        for body, source in (({"canaryConfigId": config_id}, "stored pairs"), ({"canaryConfig": strict}, "fetched")):
            answer = await http.post(
                "/v2/canaries/backtest", json={**body, "pipelineConfigId": execution["pipelineConfigId"]}
            )
            assert answer.status_code == 200, answer.text
            rows = answer.json()["windows"]
            assert [(r["source"], r["classification"]) for r in rows] == [(source, "Pass")] * 2
            assert [r["recorded"]["stageName"] for r in rows] == ["Run Canary #1", "Run Canary #2"]
            assert all(
                r["recorded"]["executionId"] == execution["id"] and r["recorded"]["canaryScore"] == 100 for r in rows
            )
        # another application's executions are not replayed for a caller of this one
        other = {"canaryConfigId": config_id, "application": "other", "executionIds": [execution["id"]]}
        refused = await http.post("/v2/canaries/backtest", json=other)
        assert refused.status_code == 400 and "application 'other' recorded no" in refused.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"windows": windows("canary-bad")}, "canaryConfigId"),
        ({"canaryConfigId": "nope", "windows": windows("x")}, "canaryConfigId"),
        ({"canaryConfig": CONFIG}, "windows"),
        ({"canaryConfig": CONFIG, "windows": [{"controlScope": "a"}]}, "windows[0].experimentScope"),
        ({"canaryConfig": CONFIG, "windows": [{**windows("x")[0], "endTimeIso": "2024-01-01T00:00:00Z"}]},
         "windows[0].endTimeIso"),
        ({"canaryConfig": CONFIG, "windows": windows("x"), "thresholds": {"pass": "lots"}}, "thresholds.pass"),
        ({"canaryConfig": CONFIG, "windows": windows("x") * 26}, "windows"),
        ({"canaryConfig": CONFIG, "executionIds": ["01NOSUCHEXECUTION"]}, "pipelineConfigId"),
    ],
)  # fmt: skip
async def test_bad_backtests_name_the_field(canary_gate: Gate, body: dict[str, Any], field: str) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        answer = await http.post("/v2/canaries/backtest", json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == field, answer.json()


async def test_the_cli_verb_prints_a_row_per_window(
    canary_gate: Gate, temporal_env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from gennaker import cli

    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        config_id = await create_config(http)
    monkeypatch.setenv("GENNAKER_STATE_DIR", str(canary_gate.settings.state_dir))
    argv = ["canary", "backtest", "--gate", canary_gate.url, "--config-id", config_id, "--control", "baseline",
            "--experiment", "canary-good", "--step", "10",
            "--window", "2025-01-01T00:00:00Z,2025-01-01T00:30:00Z",
            "--window", "2025-01-01T00:30:00Z,2025-01-01T01:00:00Z"]  # fmt: skip
    assert await asyncio.to_thread(cli.run, argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "config shop-errors  pass 75  marginal 50"
    assert printed[1].startswith("#1  2025-01-01T00:00:00Z → 2025-01-01T00:30:00Z  fetched  Pass  score 100")
    assert printed[2].startswith("#2  2025-01-01T00:30:00Z → 2025-01-01T01:00:00Z  fetched  Pass")
    assert printed[3] == "summary: Pass 2"
    assert await asyncio.to_thread(cli.run, [*argv[:10], "--window", "yesterday"]) == 2
    assert "--window must be START,END" in capsys.readouterr().err
