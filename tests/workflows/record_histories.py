"""Record workflow histories for the replay test: ``.venv/bin/python -m tests.workflows.record_histories``.

Re-record only on purpose, with a new ``BUILD_ID``: within one build, a stored history that no longer replays
means a change broke running executions, and needs ``workflow.patched`` rather than new histories; a new build
id starts without patches and its histories are recorded again (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.engine import MemoryConfigSource
from gennaker.devserver import LATENCY_FLAGS
from tests.conftest import build_worker, venv_bin
from workflows import operations, search

HERE = Path(__file__).parent / "histories"

CHILD = {
    "application": "kid",
    "name": "child",
    "id": "child-id",
    "stages": [{"refId": "1", "type": "wait", "name": "cw", "waitTime": 0}],
}
CONFIG = {
    "application": "replay",
    "name": "everything",
    "id": "replay-cfg",
    "stages": [
        {"refId": "1", "type": "evaluateVariables", "name": "vars", "variables": [{"key": "n", "value": "${1 + 1}"}]},
        {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "wait", "waitTime": "${n - 2}"},
        {
            "refId": "3",
            "requisiteStageRefIds": ["1"],
            "type": "checkPreconditions",
            "name": "pre",
            "preconditions": [{"type": "expression", "context": {"expression": "n == 2"}}],
        },
        {
            "refId": "4",
            "requisiteStageRefIds": ["2", "3"],
            "type": "pipeline",
            "name": "child",
            "application": "kid",
            "pipeline": "child-id",
        },
        {"refId": "5", "requisiteStageRefIds": ["4"], "type": "manualJudgment", "name": "judge"},
    ],
}


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_bin("temporal"),
        search_attributes=list(search.ALL),
        dev_server_extra_args=list(LATENCY_FLAGS),
    )
    try:
        async with build_worker(env.client, "record", MemoryConfigSource([CHILD])):
            execution_id = await operations.start_pipeline(env.client, CONFIG, task_queue="record")
            for _ in range(200):
                execution = await operations.get_execution(env.client, execution_id)
                judge = next(s for s in execution["stages"] if s["name"] == "judge")
                if judge.get("tasks"):
                    break
                await asyncio.sleep(0.05)
            await operations.patch_stage(env.client, execution_id, judge["id"], {"judgmentStatus": "continue"})
            await operations.wait_for_execution(env.client, execution_id)
            ids = [execution_id] + [f"{execution_id}.stage-{r}" for r in ("1", "2", "3", "4", "5")]
            HERE.mkdir(exist_ok=True)
            for i, workflow_id in enumerate(ids):
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                name = "pipeline" if i == 0 else f"stage-{i}"
                (HERE / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
