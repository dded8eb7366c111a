"""Stored histories of an enforced execution, so that the permission paths keep replaying.

Recorded once with ``.venv/bin/python -m tests.workflows.test_authorization_histories`` into
``histories/authz-*.json`` (from committed code only); ``test_replay.py`` replays every stored
history. The execution: a judgment that propagates the judge's accounts, a wait, a cluster stage
the judge may not touch (denied, ``continuePipeline``), and a child pipeline that runs as the judge
and is denied too. Re-record only on purpose, as for the other histories.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path

from workflows.authorization import authentication

HERE = Path(__file__).parent / "histories"
CHILD = {
    "application": "kid",
    "name": "child",
    "id": "authz-child",
    "stages": [{"refId": "1", "type": "disableCluster", "name": "kid disable", "credentials": "prod"}],
}
CONFIG = {
    "application": "authz",
    "name": "enforced",
    "stages": [
        {"refId": "1", "type": "manualJudgment", "name": "judge", "propagateAuthenticationContext": True},
        {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "wait", "waitTime": 0},
        {
            "refId": "3",
            "requisiteStageRefIds": ["2"],
            "type": "disableCluster",
            "name": "denied",
            "credentials": "prod",
            "continuePipeline": True,
        },
        {
            "refId": "4",
            "requisiteStageRefIds": ["3"],
            "type": "pipeline",
            "name": "child",
            "application": "kid",
            "pipeline": "authz-child",
        },
    ],
}
NAMES = {"pipeline": "", "stage-1": ".stage-1", "stage-3": ".stage-3", "stage-4": ".stage-4"}


def _text(name: str) -> str:
    """A stored history with its payloads decoded (they are base64 JSON)."""
    raw = (HERE / f"authz-{name}.json").read_text()
    decoded = [base64.b64decode(d).decode() for d in re.findall(r'"data": "([^"]+)"', raw)]
    return "\n".join([raw, *decoded])


def test_the_stored_histories_took_the_enforced_paths():
    assert {p.stem for p in HERE.glob("authz-*.json")} == {f"authz-{n}" for n in [*NAMES, "child"]}
    pipeline = _text("pipeline")
    assert '"enforced":true' in pipeline.replace(" ", "")
    assert '"allowedAccounts":["staging"]' in _text("stage-1").replace(" ", "")  # the judge's, recorded
    assert "Access denied to account prod" in _text("stage-3")
    assert "Access denied to account prod" in _text("child")
    child = _text("stage-4").replace(" ", "")
    assert '"authentication":{"allowedAccounts":["staging"],"enforced":true,"user":"rel"}' in child  # as the judge


async def record() -> None:
    from temporalio.testing import WorkflowEnvironment

    from activities.engine import MemoryConfigSource
    from gennaker.devserver import LATENCY_FLAGS
    from tests.conftest import build_worker, venv_bin
    from workflows import operations, search

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_bin("temporal"),
        search_attributes=list(search.ALL),
        dev_server_extra_args=list(LATENCY_FLAGS),
    )
    try:
        async with build_worker(env.client, "record-authz", MemoryConfigSource([CHILD])):
            auth = authentication("ann", ["dev"], enforced=True)
            execution_id = await operations.start_pipeline(
                env.client, CONFIG, task_queue="record-authz", authentication=auth
            )
            for _ in range(200):
                execution = await operations.get_execution(env.client, execution_id)
                judge = next(s for s in execution["stages"] if s["name"] == "judge")
                if judge.get("tasks"):
                    break
                await asyncio.sleep(0.05)
            await operations.patch_stage(
                env.client,
                execution_id,
                judge["id"],
                {"judgmentStatus": "continue"},
                user="rel",
                allowed_accounts=["staging"],
            )
            execution = await operations.wait_for_execution(env.client, execution_id)
            child_id = next(s for s in execution["stages"] if s["name"] == "child")["context"]["executionId"]
            ids = {name: execution_id + suffix for name, suffix in NAMES.items()} | {"child": child_id}
            for name, workflow_id in ids.items():
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                (HERE / f"authz-{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
