"""The replay corpus: every stored history of the current build replays on the current workflow code.

A failure means a change to workflow code would break executions running on this build: make it compatible
(``workflow.patched``) or bump ``gennaker.versioning.BUILD_ID`` and re-record (``make replay-record``); the
old build's executions then stay pinned to the old build's workers (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from gennaker.versioning import BUILD_ID
from workflows.all import WORKFLOWS, workflow_runner

from .recorder import HISTORIES, INDEX, kind, stage_type_of

CURRENT = sorted(p for p in (HISTORIES / BUILD_ID).glob("*.json") if p.name != INDEX)

# Every stage type a release must not strand (issue 12: deploy, webhook, bake, jenkins, manifest, runJob).
REQUIRED = {
    "Pipeline",
    *(
        f"stage-{t}"
        for t in (
            "wait",
            "manualJudgment",
            "evaluateVariables",
            "checkPreconditions",
            "pipeline",
            "webhook",
            "jenkins",
            "script",
            "bake",
            "findImageFromTags",
            "deploy",
            "createServerGroup",
            "cloneServerGroup",
            "disableServerGroup",
            "enableServerGroup",
            "resizeServerGroup",
            "destroyServerGroup",
            "rollbackServerGroup",
            "disableCluster",
            "deployManifest",
            "deleteManifest",
            "patchManifest",
            "scaleManifest",
            "undoRolloutManifest",
            "runJobManifest",
        )
    ),
}


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_the_corpus_of_this_build_covers_every_required_kind() -> None:
    kinds = {p.stem for p in CURRENT}
    missing = sorted(REQUIRED - kinds)
    assert not missing, f"no stored history of build {BUILD_ID} for {missing}: run `make replay-record`"


@pytest.mark.parametrize("path", CURRENT, ids=lambda p: p.stem)
async def test_history_replays_on_the_current_workflows(path: Path) -> None:
    doc = load(path)
    named = (
        f"synthetic-{doc['synthetic_type']}"
        if doc.get("synthetic_type")
        else kind(doc["workflow_type"], doc["stage_type"])
    )
    assert doc["build_id"] == BUILD_ID and path.stem == named
    history = WorkflowHistory.from_json(doc["workflow_id"], json.dumps(doc["history"]))
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner()).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


def test_stage_type_is_read_from_the_input() -> None:
    assert stage_type_of([{"execution": {"stages": []}, "stage": {"refId": "1", "type": "wait"}}]) == "wait"
    assert stage_type_of({"refId": "2", "type": "deploy", "context": {"refId": "x", "type": "y"}}) == "deploy"
    assert stage_type_of({"nothing": [1, 2]}) is None
    assert kind("Stage", "bake") == "stage-bake" and kind("Pipeline", None) == "Pipeline"
