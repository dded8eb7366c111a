"""Stored histories still replay: a change that would break running executions fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.all import WORKFLOWS, workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_stored():
    assert {p.stem for p in HISTORIES} >= {"pipeline", "stage-1", "stage-4", "stage-5"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner()).replay_workflow(history)
    assert result.replay_failure is None
