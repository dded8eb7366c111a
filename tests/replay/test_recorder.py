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
