"""The recording tool itself: a real execution on the session's dev server becomes corpus files that replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.all import WORKFLOWS, workflow_runner

from .recorder import INDEX, record

pytestmark = pytest.mark.temporal


async def test_a_recorded_execution_is_stored_per_kind_and_replays(engine: Any, tmp_path: Path) -> None:
    config = {
        "application": "replay",
        "name": "tool",
        "stages": [
            {"refId": "1", "type": "wait", "name": "w", "waitTime": 0},
            {
                "refId": "2",
                "type": "evaluateVariables",
                "name": "vars",
                "requisiteStageRefIds": ["1"],
                "variables": [{"key": "n", "value": "${1 + 1}"}],
            },
        ],
    }
    execution = await engine.run(config)
    assert execution["status"] == "SUCCEEDED"

    written = await record(engine.client, tmp_path, "test-build", query=f'TaskQueue="{engine.task_queue}"')
    assert {"Pipeline", "stage-wait", "stage-evaluateVariables"} <= set(written)
    index = json.loads((tmp_path / "test-build" / INDEX).read_text())
    assert index["build_id"] == "test-build" and set(written) <= set(index["kinds"])
    for name in ("Pipeline", "stage-wait", "stage-evaluateVariables"):
        doc = json.loads((tmp_path / "test-build" / f"{name}.json").read_text())
        assert doc["build_id"] == "test-build"
        history = WorkflowHistory.from_json(doc["workflow_id"], json.dumps(doc["history"]))
        result = await Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner()).replay_workflow(history)
        assert result.replay_failure is None


async def test_a_synthetic_stage_no_kept_history_runs_is_kept_from_another(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An execution window runs as a synthetic stage inside its stage's workflow: when the history kept for
    ``stage-wait`` is a plain wait, the windowed wait's history is kept as ``synthetic-<type>``, and replays."""
    from . import recorder

    always = {"whitelist": [], "days": [1, 2, 3, 4, 5, 6, 7]}
    config = {
        "application": "replay",
        "name": "window",
        "stages": [
            {"refId": "1", "type": "wait", "name": "plain", "waitTime": 0},
            # its wait of a second makes its history longer than the plain one's (a timer), whatever else they share
            {"refId": "2", "type": "wait", "name": "windowed", "waitTime": 1, "requisiteStageRefIds": ["1"],
             "restrictExecutionDuringTimeWindow": True, "restrictedExecutionWindow": always},
        ],
    }  # fmt: skip
    execution = await engine.run(config)
    assert execution["status"] == "SUCCEEDED"
    assert "restrictExecutionDuringTimeWindow" in {s["type"] for s in execution["stages"]}
    query = f'TaskQueue="{engine.task_queue}"'
    plain_lengths = []
    for c in [c async for c in recorder.candidates(engine.client, query)]:
        if c.name == "stage-wait":
            history = await engine.client.get_workflow_handle(c.workflow_id, run_id=c.run_id).fetch_history()
            if recorder.stage_types_run(json.loads(history.to_json())) == {"wait"}:
                plain_lengths.append(c.length)
    [plain_length] = plain_lengths
    monkeypatch.setattr(recorder, "MAX_EVENTS", plain_length)  # the longest of at most this many: the plain one

    written = await record(engine.client, tmp_path, "test-build", query=query)
    target = tmp_path / "test-build"
    plain = json.loads((target / "stage-wait.json").read_text())
    assert recorder.stage_types_run(plain["history"]) == {"wait"}
    assert "synthetic-restrictExecutionDuringTimeWindow" in written
    doc = json.loads((target / "synthetic-restrictExecutionDuringTimeWindow.json").read_text())
    assert doc["synthetic_type"] == "restrictExecutionDuringTimeWindow" and doc["stage_type"] == "wait"
    assert {"wait", "restrictExecutionDuringTimeWindow"} <= recorder.types_in_directory(target)
    history = WorkflowHistory.from_json(doc["workflow_id"], json.dumps(doc["history"]))
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner()).replay_workflow(history)
    assert result.replay_failure is None
