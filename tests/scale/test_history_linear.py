"""History grows linearly with the stage count: the pipeline workflow's bytes per stage at 100 ``wait(0)``
stages stay within a small factor of those at 10 (a byte count, not a time).

This is the check of issue 12's "execution data by reference": on the engine whose stage inputs carry the
whole execution, the bytes per stage grow with the stage count (9.3 KB at 10 stages, 44 KB at 100, 124 KB
at 300; docs/performance.md) and this test fails.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from temporalio.worker import Worker

from bench.scale import History, histories, pipeline_config, wait_chain

pytestmark = [pytest.mark.temporal, pytest.mark.timeout(180)]

#: bytes per stage at 100 stages may be at most this many times those at 10 (quadratic growth gives ~4.7)
FACTOR = 1.5


async def pipeline_history(client: Any, queue: str, stages: int) -> History:
    from workflows import operations

    execution_id = await operations.start_pipeline(
        client, pipeline_config(f"linear-{stages}", wait_chain(stages)), task_queue=queue
    )
    handle = client.get_workflow_handle(execution_id)
    described = await handle.describe()
    while described.status is None or described.status.name in ("RUNNING", "CONTINUED_AS_NEW"):
        await asyncio.sleep(0.2)
        described = await handle.describe()
    assert described.status.name == "COMPLETED", f"{stages} stages: the pipeline workflow is {described.status}"
    return await histories(client, f'WorkflowId = "{execution_id}"')


async def test_history_bytes_per_stage_flat_from_10_to_100_stages(client: Any, tmp_path: Path) -> None:
    from activities.all import build_activities
    from core.settings import load_settings
    from core.store import Store
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"scale-{uuid.uuid4()}"
    settings = load_settings(state_dir=tmp_path, task_queue=queue)
    store = Store(settings.store_url)
    store.migrate()
    try:
        async with Worker(
            client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=build_activities(settings, client, store=store),
            activity_executor=ThreadPoolExecutor(max_workers=10),
            workflow_runner=workflow_runner(),
        ):
            small = await pipeline_history(client, queue, 10)
            large = await pipeline_history(client, queue, 100)
    finally:
        store.close()
    per_small, per_large = small.bytes / 10, large.bytes / 100
    assert per_large <= FACTOR * per_small, (
        f"history bytes per stage grow with the stage count: {per_small:.0f} B at 10 stages, "
        f"{per_large:.0f} B at 100 ({small.runs} and {large.runs} runs)"
    )
