"""The final record and the downstream ``pipeline`` trigger survive a database outage around completion.

The store reaches PostgreSQL through a TCP proxy the test cuts while the execution finishes: the workflow's local
activity ``record_execution_update`` fails (retryably) until the proxy is restored, then lands; the downstream
pipeline starts once, however often the finish is handled again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from .tcp_proxy import TcpProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")
RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=1))


@workflow.defn(name="ProjectionFinishProbe", sandboxed=False)
class FinishProbe:
    """Writes the header at its start and its final record when signalled, as the pipeline workflow does
    (local activities, retried without limit)."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    def finish(self) -> None:
        self.go = True

    @workflow.run
    async def run(self, updates: list[dict[str, Any]]) -> Any:
        first, last = updates
        await workflow.execute_local_activity(
            "record_execution_update", first, start_to_close_timeout=timedelta(seconds=10), retry_policy=RETRY
        )
        await workflow.wait_condition(lambda: self.go)
        return await workflow.execute_local_activity(
            "record_execution_update", last, start_to_close_timeout=timedelta(seconds=10), retry_policy=RETRY
        )


async def eventually(check: Any, timeout: float = 60) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        got = await asyncio.to_thread(check)
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def test_final_record_and_downstream_trigger_survive_an_outage(
    client: Any, postgresql_url: str, tmp_path: Path
) -> None:
    from activities.all import build_activities
    from activities.engine import finish_once
    from activities.triggers import TriggerActivities
    from core.settings import Settings
    from core.store import Store
    from integrations.triggers.launcher import Launcher
    from workflows.all import WORKFLOWS, workflow_runner

    direct = Store(postgresql_url)
    direct.migrate()
    url = make_url(postgresql_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = Store(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        settings = Settings(state_dir=tmp_path, task_queue=f"outage-{uuid.uuid4()}")
        tag = uuid.uuid4().hex[:8]
        upstream_cfg, downstream_cfg = f"up-{tag}", f"down-{tag}"
        direct.pipelines.save(
            {
                "id": downstream_cfg,
                "application": "outage",
                "name": f"downstream {tag}",
                "stages": [{"refId": "1", "type": "wait", "name": "w", "waitTime": 0}],
                "triggers": [{"type": "pipeline", "enabled": True, "pipeline": upstream_cfg, "status": ["successful"]}],
            },
            "bob",
        )
        execution_id = f"up-{uuid.uuid4().hex}"
        now = int(time.time() * 1000)
        header = {
            "type": "PIPELINE",
            "name": "upstream",
            "pipelineConfigId": upstream_cfg,
            "status": "RUNNING",
            "buildTime": now,
            "startTime": now,
            "trigger": {"type": "manual", "user": "bob"},
        }
        stage = {"id": "s1", "refId": "1", "type": "wait", "name": "w", "status": "SUCCEEDED", "context": {}}
        updates = [
            {"id": execution_id, "application": "outage", "version": now * 1000, "execution": header},
            {
                "id": execution_id,
                "version": now * 1000 + 1,
                "execution": {"status": "SUCCEEDED", "endTime": now + 5},
                "stages": [{"seq": 0, "stage": stage}],
            },
        ]
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[*WORKFLOWS, FinishProbe],
            activities=build_activities(settings, client, store=proxied),
            activity_executor=ThreadPoolExecutor(max_workers=20),
            workflow_runner=workflow_runner(),
        )
        async with worker:
            handle = await client.start_workflow(
                FinishProbe.run, updates, id=execution_id, task_queue=settings.task_queue
            )
            await eventually(lambda: direct.executions.header(execution_id))
            proxy.cut()
            await handle.signal(FinishProbe.finish)
            await eventually(lambda: proxy.refused >= 3)  # the final record has failed against the outage
            assert direct.executions.get(execution_id)["status"] == "RUNNING"
            proxy.restore()
            await asyncio.wait_for(handle.result(), 60)
            assert direct.executions.get(execution_id)["status"] == "SUCCEEDED"

            def downstream() -> list[dict[str, Any]]:
                return direct.executions.query(pipeline_config_ids=[downstream_cfg])

            started = await eventually(downstream)
            assert len(started) == 1
            assert started[0]["trigger"]["parentExecution"]["id"] == execution_id
            await eventually(lambda: downstream()[0]["status"] == "SUCCEEDED")
            # handled again (a retried activity, the reconciler, a crash between the triggers and their mark):
            # still one downstream execution
            launcher = TriggerActivities(Launcher(client, direct, settings), direct)
            assert await finish_once(direct, execution_id, launcher.start_dependents) is False
            direct.executions.mark_finish_handled(execution_id, -1)
            assert await finish_once(direct, execution_id, launcher.start_dependents) is True
            assert [e["id"] for e in downstream()] == [started[0]["id"]]
        proxied.close()
    direct.close()
