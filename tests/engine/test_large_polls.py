"""A webhook stage polling a large status body (250 KB a poll, once a second) stays within bounds: the execution keeps
a capped copy of the body, each run of the stage workflow's history stays small, and the stage continues as new
instead of growing (issue 12's "large values never enter history whole"). `make soak-polls` runs it for ten
minutes (GENNAKER_SOAK_SECONDS=600: Orca's monitor polls once a second for the first minute, then every 15 s,
so about 96 polls; it asks for one per 15 s at least); make test runs 15 polls."""

from __future__ import annotations

import asyncio
import os

import pytest
from temporalio.client import Client

from tests.conftest import Engine, stage_named
from tests.engine.conftest import Hook
from tests.engine.test_continue_as_new import chain, continued, eventually, start_limited
from workflows import operations

pytestmark = pytest.mark.temporal

BODY = 250 * 1000
SOAK_SECONDS = float(os.environ.get("GENNAKER_SOAK_SECONDS", "0"))
POLLS = max(15, int(SOAK_SECONDS / 15))
RUN_CEILING = 1024 * 1024  # one run of the stage's history: a few capped bodies, never the sum of all polls


async def test_polling_a_large_body_stays_bounded(engine: Engine, client: Client, hook: Hook) -> None:
    hook.padding = BODY
    webhook = {
        "type": "webhook",
        "name": "hook",
        "url": f"{hook.base}/job",
        "method": "POST",
        "waitForCompletion": True,
        "statusUrlResolution": "getMethod",
        "statusJsonPath": "$.state",
        "successStatuses": "DONE",
    }
    execution_id = await start_limited(engine, chain(webhook), 30)
    stage_workflow = f"{execution_id}.stage-0"

    async def polled_enough() -> bool:
        return sum(1 for method, _ in hook.calls if method == "GET") >= POLLS

    if SOAK_SECONDS:
        await asyncio.sleep(SOAK_SECONDS)  # the soak: the stage keeps polling the whole time
    await eventually(polled_enough, timeout=90 + 2 * POLLS)
    hook.state = "DONE"
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id, store=engine.store), 60)
    assert done["status"] == "SUCCEEDED"
    assert await continued(client, stage_workflow)  # the poll loop moved to a fresh run instead of growing
    history = await client.get_workflow_handle(stage_workflow).fetch_history()
    run_bytes = sum(event.ByteSize() for event in history.events)
    polls = sum(1 for method, _ in hook.calls if method == "GET")
    print(f"{polls} polls of {BODY} B: the stage's last run holds {run_bytes} B of history")
    assert run_bytes < RUN_CEILING
    kept = stage_named(done, "hook")["context"]["webhook"]["monitor"]
    assert len(str(kept)) < 100 * 1024  # the execution keeps a capped copy, not 250 KB per poll
