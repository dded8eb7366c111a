"""The chaos harness (bench/chaos.py) in small: 10 pipelines of waits, judgments, webhooks and moto deploys,
the worker SIGKILLed once and the Temporal dev server SIGKILLed once (each restarted); nothing stuck, nothing
lost, one server group per deploy, the store's final status equal to Temporal's, and every pipeline SUCCEEDED."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import Options, run

pytestmark = [pytest.mark.temporal, pytest.mark.slow, pytest.mark.timeout(240)]


async def test_ten_pipelines_survive_a_worker_and_a_dev_server_kill(tmp_path: Path) -> None:
    opts = Options(
        pipelines=10,
        seed=3,
        targets=["worker", "temporal"],
        storm_seconds=12,  # the triggers and both kills within 12 s: the kills still land among running pipelines
        settle_seconds=150,
        mix=(0.3, 0.3, 0.2, 0.2),
        work_dir=tmp_path,
        quiet=True,
    )
    report = await run(opts)
    kinds = {row["name"].split("-", 1)[1] for row in report.rows}
    assert kinds == {"wait", "judgment", "webhook", "deploy"}, kinds  # the seed gives every kind
    assert [f.split()[2] for f in report.faults] == ["worker", "temporal"], report.faults
    assert report.violations == [], report.violations
    assert len(report.rows) == 10, report.rows
    statuses = {row["name"]: (row["store"], row.get("why")) for row in report.rows}
    assert all(status == "SUCCEEDED" for status, _ in statuses.values()), statuses
    assert sum(report.groups.values()) == sum(report.deploy_executions.values()) > 0
